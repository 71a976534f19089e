// Waveform extraction on ECG pages drawn the ways other devices draw them
// (ecg_styles.mjs writes them from a known signal, with no MuPDF): each
// style through `bpecg-etl run` with EXTRACT_WAVEFORMS=1 and CROP_PAGE=auto
// only, every lead checked against the signal drawn: its name (from its
// label, or the layout's order), its time on the recording, its scale and
// where that came from, and its samples.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { pearson, rms, rmse } from './ecg_truth.mjs';
import { signal, styles } from './ecg_styles.mjs';
import { duckdb, queryRows } from './pq_readers.mjs';
import { baseEnv } from './s3_fixture.mjs';

const BIN = path.join(process.env.BPECG_BUILD_DIR || '', 'bpecg-etl');
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-styles-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const cleanEnv = Object.fromEntries(
  Object.entries(baseEnv()).filter(([k]) => !/^(EXTRACT_|WAVEFORM_|PAPER_|GAIN_|CROP_|TEXT_PAGE|REDACT_|FIELD_)/.test(k)),
);

const all = styles();
let waves;
let results;

describe('device styles', { timeout: 600_000 }, () => {
  before(async () => {
    const src = path.join(work, 'in');
    fs.mkdirSync(src);
    for (const s of all) fs.writeFileSync(path.join(src, `${s.name}.pdf`), s.pdf);
    const out = path.join(work, 'out');
    const r = spawnSync(BIN, ['run', '--source', src, '--dest', out, '--no-progress'], {
      env: { ...cleanEnv, LOG_LEVEL: 'warn', EXTRACT_WAVEFORMS: '1', CROP_PAGE: 'auto', CROP_LEADS: '1' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const conn = await duckdb();
    waves = await queryRows(conn, `SELECT * FROM read_parquet('${out}/waveforms/*.parquet')`);
    results = new Map(
      (await queryRows(conn, `SELECT * FROM read_parquet('${out}/metadata/*.parquet')`)).map((x) => [x.file_id, x]),
    );
  });

  for (const s of all) {
    test(`${s.name}: every lead named, timed, scaled and sampled as drawn`, () => {
      const row = results.get(s.name);
      assert.equal(row.status, 'success', `${row.error_type}: ${row.error}`);
      const got = waves.filter((w) => w.file_id === s.name);
      const key = (x) => `${x.lead}${x.rhythm ? '/rhythm' : ''}`;
      assert.deepEqual(got.map(key).sort(), s.truth.map(key).sort());
      for (const t of s.truth) {
        const w = got.find((x) => key(x) === key(t));
        const e = s.expect;
        const what = `${s.name} ${key(t)}`;
        assert.ok(Math.abs(w.start_s - t.t0) <= 1 / w.sample_rate_hz, `${what}: start_s ${w.start_s}, want ${t.t0}`);
        const secs = w.samples.length / w.sample_rate_hz;
        assert.ok(Math.abs(secs - (t.t1 - t.t0)) <= 0.01, `${what}: ${secs} s, want ${t.t1 - t.t0}`);
        assert.equal(w.layout, e.layouts?.[t.page] ?? e.layout, what);
        assert.equal(w.paper_speed_mm_s, e.speed, what);
        assert.equal(w.speed_source, e.speedSource, what);
        assert.equal(w.calibration_source, e.calibration, what);
        assert.ok(Math.abs(w.mm_per_mv - e.gain) < 0.02 * e.gain, `${what}: ${w.mm_per_mv} mm/mV`);
        assert.equal(w.quality.includes('label_from_layout'), !e.labelled, `${what}: ${w.quality}`);
        if (t.page) assert.equal(w.page, t.page, what);
        if (t.pages) assert.equal(w.pages, t.pages, what);
        const truth = w.samples.map((_, k) => signal(t.lead, w.start_s + k / w.sample_rate_hz));
        const r = pearson(w.samples, truth);
        assert.ok(r >= 0.999, `${what}: r ${r.toFixed(5)}`);
        // With a pulse (or 0 mV on a grid line) the level is exact; without,
        // it is the row's median, off by the signal's own level.
        const exact = e.calibration === 'pulse' || e.baselineOnGrid;
        const bias = w.samples.reduce((a, v, k) => a + v - truth[k], 0) / truth.length;
        const err = rmse(
          w.samples.map((v) => v - (exact ? 0 : bias)),
          truth,
        );
        assert.ok(err <= 0.01, `${what}: RMSE ${err.toFixed(4)} mV (bias ${bias.toFixed(4)})`);
        if (!exact) assert.ok(Math.abs(bias) <= 0.1, `${what}: level off by ${bias.toFixed(3)} mV`);
      }
    });
  }

  test('III = II - I on every style with the limb leads', () => {
    for (const s of all) {
      const got = waves.filter((w) => w.file_id === s.name && !w.rhythm);
      const [I, II, III] = ['I', 'II', 'III'].map((n) => got.find((w) => w.lead === n));
      if (!I || !II || !III || I.start_s !== II.start_s || II.start_s !== III.start_s) continue;
      const n = Math.min(I.samples.length, II.samples.length, III.samples.length);
      const res = [];
      for (let k = 0; k < n; k++) res.push(III.samples[k] - (II.samples[k] - I.samples[k]));
      assert.ok(rms(res) <= 0.05 * rms(II.samples.slice(0, n)), `${s.name}: ${rms(res)}`);
    }
  });
});
