// Real ECG report PDFs (../shared/corpus/ecg, never copied here) through
// `bpecg-etl run` with EXTRACT_WAVEFORMS=1, CROP_PAGE=auto and
// CROP_LEADS=1, and nothing else set: the waveform file read with DuckDB
// and hyparquet, the leads compared with the recordings they were drawn
// from (ecg_truth.mjs), with physics where no recording exists, and the
// lead crops checked. Nothing here knows a file by name beyond picking its
// truth; the program gets the folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  LEADS,
  butterBand1,
  dicomLeads,
  interp,
  lfilter2,
  pearson,
  readCsvLeads,
  readEdf,
  rms,
  rmse,
  smooth5,
} from './ecg_truth.mjs';
import { duckdb, fileArrayBuffer, queryRows, readHyparquet, sqlString } from './pq_readers.mjs';
import { baseEnv } from './s3_fixture.mjs';

const BUILD = process.env.BPECG_BUILD_DIR;
const BIN = path.join(BUILD || '', 'bpecg-etl');
const CORPUS = path.join(process.env.BPECG_SHARED_DIR || '', 'corpus', 'ecg');
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-real-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// Only the folders: no setting of the caller's leaks in.
const cleanEnv = Object.fromEntries(
  Object.entries(baseEnv()).filter(([k]) => !/^(EXTRACT_|WAVEFORM_|PAPER_|GAIN_|CROP_|TEXT_PAGE|REDACT_|FIELD_)/.test(k)),
);

let conn;
const query = async (sql) => queryRows((conn ??= await duckdb()), sql);

const OUT = path.join(work, 'out');
let waves; // rows of the waveform file
let results; // file_id -> results row

// The leads of a file: name (+ "/rhythm") -> row.
function leadsOf(id) {
  const m = new Map();
  for (const w of waves.filter((x) => x.file_id === id)) m.set(w.lead + (w.rhythm ? '/rhythm' : ''), w);
  return m;
}

// r and RMSE of a lead against truth(t) at its sample times, at the best of
// the given lags (seconds added to the lead's times).
function score(w, truth, lags = [0]) {
  let best = null;
  for (const lag of lags) {
    const a = [];
    const b = [];
    w.samples.forEach((v, k) => {
      const y = truth(w.start_s + k / w.sample_rate_hz + lag);
      if (Number.isFinite(y)) {
        a.push(v);
        b.push(y);
      }
    });
    const s = { lag, r: pearson(a, b), rmse: rmse(a, b), n: a.length };
    if (!best || s.rmse < best.rmse) best = s;
  }
  return best;
}

describe('real ECG reports: waveforms', { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(CORPUS), `${CORPUS} is missing`);
    const r = spawnSync(BIN, ['run', '--source', CORPUS, '--dest', OUT, '--no-progress'], {
      env: { ...cleanEnv, LOG_LEVEL: 'warn', EXTRACT_WAVEFORMS: '1', CROP_PAGE: 'auto', CROP_LEADS: '1' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    waves = await query(`SELECT * FROM read_parquet('${OUT}/waveforms/*.parquet')`);
    const rows = await query(`SELECT * FROM read_parquet('${OUT}/metadata/*.parquet')`);
    results = new Map(rows.map((x) => [x.file_id, x]));
    // A second reader agrees on the samples.
    const file = fs.readdirSync(path.join(OUT, 'waveforms'))[0];
    const hy = await readHyparquet(fileArrayBuffer(path.join(OUT, 'waveforms', file)), [
      { name: 'file_id', type: 'STRING' },
      { name: 'lead', type: 'STRING' },
      { name: 'samples', type: 'FLOAT', list: true },
    ]);
    assert.equal(hy.length, waves.length);
    hy.forEach((row, i) => {
      assert.equal(row[1], waves[i].lead);
      assert.deepEqual(row[2].map(Number), waves[i].samples.map(Number), `${row[0]} ${row[1]}`);
    });
  });

  test('every report is a success with CROP_PAGE=auto, one-page reports included', () => {
    assert.equal(results.size, 11);
    for (const [id, r] of results) {
      assert.equal(r.status, 'success', `${id}: ${r.error_type} ${r.error}`);
      assert.ok(r.images_extracted >= 1, id);
    }
  });

  test('scanned reports are raster_only; vector reports are extracted', () => {
    for (const [id, r] of results) {
      const n = waves.filter((w) => w.file_id === id).length;
      assert.equal(r.leads_extracted, n, id);
      assert.equal(r.waveform_status, n ? 'extracted' : 'raster_only', id);
    }
    assert.equal([...results.values()].filter((r) => r.waveform_status === 'raster_only').length, 4);
  });

  // ecgtizer: vertex k = 1..N of a column is the CSV lead smoothed (5-sample
  // moving average over the column's chunk), at sample s0 + 4k. The page
  // cannot say that its first vertex is sample s0 + 4 rather than s0 (the
  // renderer skips sample 0 of each chunk), so the lead's first sample is
  // that vertex, at the layout's column time: the truth is the polyline
  // through the vertices placed so.
  for (const [file, layout] of [
    ['ecgtizer_00009_hr', '3x4+1'],
    ['ecgtizer_00009_hr_6x2', '6x2'],
  ]) {
    test(`${file}: every lead equals the PTB-XL record as drawn (r >= 0.99, RMSE <= 0.02 mV)`, () => {
      const csv = readCsvLeads(path.join(CORPUS, 'ecgtizer_00009_hr.csv'));
      const leads = leadsOf(file);
      const cols = layout === '6x2' ? 2 : 4;
      const chunk = 5000 / cols;
      const want = layout === '6x2' ? 12 : 13;
      assert.equal(leads.size, want, [...leads.keys()].join(' '));
      for (const [key, w] of leads) {
        assert.equal(w.layout, layout, key);
        const rhythm = key.endsWith('/rhythm');
        const lead = LEADS.indexOf(w.lead);
        const col = rhythm ? 0 : layout === '6x2' ? Math.floor(lead / 6) : Math.floor(lead / 3);
        const s0 = col * chunk;
        const len = rhythm ? 5000 : chunk;
        assert.equal(w.start_s, s0 / 500, `${key} start_s`);
        const sm = smooth5(csv[w.lead].subarray(s0, s0 + len));
        const vert = [];
        for (let k = 1; 4 * k < len; k++) vert.push(sm[4 * k]);
        // Vertex k sits at start_s + (k - 1) * 8 ms on the page.
        const truth = (t) => interp(vert, (t - w.start_s) / 0.008);
        const s = score(w, truth);
        assert.ok(s.n >= 0.98 * w.samples.length, `${key}: ${s.n} compared`);
        assert.ok(s.r >= 0.99 && s.rmse <= 0.02, `${key}: r ${s.r.toFixed(4)} RMSE ${s.rmse.toFixed(4)} mV`);
        assert.equal(w.calibration_source, 'pulse', key);
      }
    });
  }

  // dicom-ecg-plot: the DICOM leads through an order-1 Butterworth
  // band-pass 0.05-40 Hz (causal), each row one polyline of four 2.5 s
  // columns. Its axis maps the 10000 samples onto 9999 intervals, so the
  // page's time runs 0.01% slow: up to 1 ms by the end, allowed here.
  test('dicom-ecg-plot: rows split at their columns, leads equal the DICOM as filtered', () => {
    const { rate, leads: dcm } = dicomLeads(path.join(CORPUS, 'dcmplot_anonymous_ecg.dcm'));
    assert.equal(rate, 1000);
    const [b, a] = butterBand1(0.05, 40, rate);
    const leads = leadsOf('dcmplot_anonymous_ecg_3x4_1');
    assert.equal(leads.size, 13, [...leads.keys()].join(' '));
    const lags = [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1].map((ms) => ms / 1000);
    for (const [key, w] of leads) {
      const rhythm = key.endsWith('/rhythm');
      const lead = LEADS.indexOf(w.lead);
      assert.equal(w.start_s, rhythm ? 0 : Math.floor(lead / 3) * 2.5, `${key} start_s`);
      assert.ok(Math.abs(w.samples.length / 500 - (rhythm ? 10 : 2.5)) <= 0.004, `${key}: ${w.samples.length}`);
      const f = lfilter2(b, a, dcm[w.lead]);
      const s = score(w, (t) => interp(f, t * rate), lags);
      assert.ok(s.r >= 0.99 && s.rmse <= 0.02, `${key}: r ${s.r.toFixed(4)} RMSE ${s.rmse.toFixed(4)} at ${s.lag * 1000} ms`);
      assert.equal(w.speed_source, 'legend', key);
      assert.equal(w.calibration_source, 'legend', key);
    }
  });

  test('Kardia: six leads, each one 30 s recording joined over pages 2-5', () => {
    const leads = leadsOf('kardia_kardiamobile-6l-ecg');
    assert.deepEqual([...leads.keys()], ['I', 'II', 'III', 'aVR', 'aVL', 'aVF']);
    const edf = readEdf(path.join(CORPUS, 'kardia_kardiamobile-6l-ecg.edf'));
    for (const [name, w] of leads) {
      assert.equal(w.start_s, 0);
      assert.ok(Math.abs(w.samples.length / w.sample_rate_hz - 30) <= 0.01, `${name}: ${w.samples.length}`);
      assert.equal(w.page, 2);
      assert.equal(w.pages, 4);
      // Pages 3-5 have no pulse; their rows sit where page 2's did.
      assert.equal(w.calibration_source, 'pulse', name);
      assert.ok(!w.quality.includes('baseline_estimated'), name);
      // The EDF is a second opinion, converted by the repository's author.
      const e = edf[`EKG ${name}`];
      const s = score(w, (t) => interp(e.v, t * e.rate));
      assert.ok(s.r >= 0.95, `${name}: r ${s.r.toFixed(3)} against the EDF`);
    }
  });

  test('GE CardioSoft: 50 mm/s read off the page, 5 s strips, limb leads page 1, chest page 2', () => {
    const leads = leadsOf('biomk_3b7b4dc1-d17e-403e-949f-b0c6a3693447');
    assert.deepEqual([...leads.keys()].sort(), [...LEADS].sort());
    for (const [name, w] of leads) {
      assert.equal(w.paper_speed_mm_s, 50, name);
      assert.equal(w.speed_source, 'legend', name);
      assert.equal(w.start_s, 0, name);
      assert.ok(Math.abs(w.samples.length - 2500) <= 1, `${name}: ${w.samples.length}`);
      assert.equal(w.page, LEADS.indexOf(name) < 6 ? 1 : 2, name);
      assert.ok(!w.quality.includes('label_from_layout'), name);
    }
  });

  test('GE MUSE: 3x4 + rhythm named by its labels, calibrated by its pulses', () => {
    const leads = leadsOf('shiansen_test_example_1');
    assert.equal(leads.size, 13);
    assert.ok(leads.has('II/rhythm'));
    for (const [key, w] of leads) {
      assert.equal(w.calibration_source, 'pulse', key);
      assert.ok(Math.abs(w.mm_per_mv - 10) < 0.05, `${key}: ${w.mm_per_mv}`);
      assert.ok(!w.quality.includes('label_from_layout'), key);
    }
  });

  test('a single lead wrapped over four rows is one lead I, its rows one after the other', () => {
    const leads = leadsOf('hdbot_ecg');
    assert.deepEqual([...leads.keys()], ['I']);
    const w = leads.get('I');
    assert.ok(Math.abs(w.samples.length / w.sample_rate_hz - 32) < 0.05, `${w.samples.length}`);
    assert.equal(w.layout, '1x4w');
    assert.equal(w.paper_speed_mm_s, 25);
    assert.equal(w.speed_source, 'legend');
  });

  // Einthoven: III = II - I wherever the three are drawn at once.
  test('III = II - I within 5% of the RMS of II wherever I, II and III are simultaneous', () => {
    let checked = 0;
    for (const id of results.keys()) {
      const l = leadsOf(id);
      const [I, II, III] = ['I', 'II', 'III'].map((n) => l.get(n));
      if (!I || !II || !III) continue;
      const t0 = Math.max(I.start_s, II.start_s, III.start_s);
      const end = (w) => w.start_s + (w.samples.length - 1) / w.sample_rate_hz;
      const t1 = Math.min(end(I), end(II), end(III));
      if (t1 - t0 < 1) continue;
      const at = (w, t) => interp(w.samples, (t - w.start_s) * w.sample_rate_hz);
      const res = [];
      const ii = [];
      for (let t = t0; t <= t1; t += 0.002) {
        res.push(at(III, t) - (at(II, t) - at(I, t)));
        ii.push(at(II, t));
      }
      const rel = rms(res) / rms(ii);
      assert.ok(rel <= 0.05, `${id}: ${(100 * rel).toFixed(1)}%`);
      checked++;
    }
    assert.equal(checked, 6);
  });

  test('CROP_LEADS: one JPEG per lead, named by the lead, the stitched ones as wide as their parts', async () => {
    for (const [id, r] of results) {
      const leads = [...leadsOf(id).keys()].map((k) => `lead_${k.replace('/rhythm', '_rhythm')}.jpg`);
      const dir = path.join(OUT, 'images', id);
      const files = fs.readdirSync(dir).filter((f) => f.startsWith('lead_'));
      assert.deepEqual(files.sort(), leads.sort(), id);
      for (const f of files) assert.ok(r.image_keys.includes(`images/${id}/${f}`), `${id}/${f}`);
    }
    const size = (f) => {
      // The SOF0 marker of a baseline JPEG: height, width.
      const b = fs.readFileSync(f);
      for (let i = 2; i + 9 < b.length; ) {
        if (b[i] !== 0xff) break;
        if (b[i + 1] === 0xc0) return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) };
        i += 2 + b.readUInt16BE(i + 2);
      }
      return null;
    };
    const kardia = size(path.join(OUT, 'images', 'kardia_kardiamobile-6l-ecg', 'lead_I.jpg'));
    // Four pages of ~7.5 s at 25 mm/s and 100 dpi: ~4 x 750 px.
    assert.ok(kardia.w > 2800 && kardia.w < 3300 && kardia.h < 200, JSON.stringify(kardia));
    const v1 = size(path.join(OUT, 'images', 'shiansen_test_example_1', 'lead_V1.jpg'));
    // One 2.5 s column: ~62 mm, ~250 px.
    assert.ok(v1.w > 230 && v1.w < 290, JSON.stringify(v1));
  });

  test('preview --crop-page auto shows the page run would crop', () => {
    for (const [file, page] of [
      ['shiansen_test_example_1.pdf', 1],
      ['kardia_kardiamobile-6l-ecg.pdf', 2],
      ['tricog_r.pdf', 1],
    ]) {
      const png = path.join(work, `${file}.png`);
      const r = spawnSync(BIN, ['preview', '--crop-page', 'auto', path.join(CORPUS, file), '-o', png], {
        env: cleanEnv,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`: page ${page} of `), file);
      assert.ok(fs.statSync(png).size > 1000);
    }
  });

  test(`DuckDB sees sane waveform rows (${sqlString('no NaN, finite mV')})`, async () => {
    const bad = await query(
      `SELECT file_id, lead FROM read_parquet('${OUT}/waveforms/*.parquet') WHERE list_max(samples) > 20 OR list_min(samples) < -20 OR len(samples) = 0`,
    );
    assert.deepEqual(bad, []);
  });
});
