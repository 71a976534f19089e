// Waveforms end to end (EXTRACT_WAVEFORMS=1): `bpecg-etl samples` of every
// layout plus the variants -> `bpecg-etl run` -> waveforms/batch_*.parquet
// read with DuckDB, arrow-rs (parquet-wasm) and hyparquet, which must agree
// to the bit; lead names and counts per layout; leads_extracted and
// waveform_status in the results; samples against the signal the generator
// drew (tests/tools/samples_signal); determinism; extraction off; and one run
// to S3 (s3rver behind the verifying proxy).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  arrowRows,
  duckdb,
  fileArrayBuffer,
  parquetMetadata,
  queryRows,
  readArrowTable,
  readHyparquet,
  sqlString,
} from './pq_readers.mjs';
import { baseEnv, runBin, startS3 } from './s3_fixture.mjs';

const BUILD = process.env.BPECG_BUILD_DIR;
const BIN = path.join(BUILD || '', 'bpecg-etl');
const SIGNAL = [path.join(BUILD || '', 'tests', 'samples_signal'), path.join(BUILD || '', 'samples_signal')].find((p) =>
  fs.existsSync(p),
);
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-wave-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// Nothing of the caller's settings (waveform ones included) leaks in.
const cleanEnv = Object.fromEntries(
  Object.entries(baseEnv()).filter(
    ([k]) => !/^(EXTRACT_WAVEFORMS|WAVEFORM_|PAPER_SPEED|GAIN_MM|REDACT_|FIELD_PATTERNS)/.test(k),
  ),
);

function run(args, env = {}) {
  const r = spawnSync(BIN, args, {
    env: { ...cleanEnv, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let conn;
async function query(sql) {
  if (!conn) conn = await duckdb();
  return queryRows(conn, sql);
}

const LIMB = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF'];
const CHEST = ['V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
const TWELVE = [...LIMB, ...CHEST];

// FNV-1a over the float32 bits of a lead: equal only if every sample is.
function floatsHash(samples) {
  const f = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) f[i] = samples[i];
  const bytes = new Uint8Array(f.buffer);
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

// One line per waveform row: what every reader must agree on.
function describeRow(r) {
  return [
    r.run_id,
    String(r.batch_id),
    r.source_key,
    r.file_id,
    r.lead,
    String(r.rhythm),
    String(r.start_s),
    String(r.sample_rate_hz),
    String(r.samples.length),
    floatsHash(r.samples),
    r.units,
    r.calibration_source,
    String(r.mm_per_mv),
    String(r.paper_speed_mm_s),
    r.quality.join('+'),
    r.speed_source,
    String(r.page),
    String(r.pages),
    r.layout,
  ].join('|');
}

const WAVE_COLUMNS = [
  { name: 'run_id', type: 'STRING' },
  { name: 'batch_id', type: 'INT64' },
  { name: 'source_key', type: 'STRING' },
  { name: 'file_id', type: 'STRING' },
  { name: 'lead', type: 'STRING' },
  { name: 'rhythm', type: 'BOOLEAN' },
  { name: 'start_s', type: 'DOUBLE' },
  { name: 'sample_rate_hz', type: 'INT32' },
  { name: 'samples', type: 'FLOAT', list: true },
  { name: 'units', type: 'STRING' },
  { name: 'calibration_source', type: 'STRING' },
  { name: 'mm_per_mv', type: 'DOUBLE' },
  { name: 'paper_speed_mm_s', type: 'DOUBLE' },
  { name: 'quality', type: 'STRING', list: true },
  { name: 'speed_source', type: 'STRING' },
  { name: 'page', type: 'INT32' },
  { name: 'pages', type: 'INT32' },
  { name: 'layout', type: 'STRING' },
];

const asObjects = (rows) => rows.map((row) => Object.fromEntries(WAVE_COLUMNS.map((c, i) => [c.name, row[i]])));

async function readAll(file) {
  const duck = await query(
    `SELECT * FROM read_parquet(${sqlString(file)}, file_row_number = true) ORDER BY file_row_number`,
  );
  const hy = asObjects(await readHyparquet(fileArrayBuffer(file), WAVE_COLUMNS));
  const arrow = asObjects(arrowRows(readArrowTable(file), WAVE_COLUMNS));
  return { duck, hy, arrow };
}

function signal(seed, index, lead, start, rate, n) {
  const out = execFileSync(SIGNAL, [String(seed), String(index), lead, String(start), String(rate), String(n)], {
    maxBuffer: 1 << 26,
  }).toString();
  return out.trim().split('\n').map(Number);
}

function rms(a, b) {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

const IN = path.join(work, 'in');
const manifest = new Map();

before(() => {
  assert.ok(BUILD && fs.existsSync(BIN), `no bpecg-etl under BPECG_BUILD_DIR=${BUILD}`);
  assert.ok(SIGNAL, 'no samples_signal tool in the build');
  const mf = path.join(work, 'manifest.jsonl');
  // 3x4, 6x2, 12x1, 3x4, ... and the hard cases.
  execFileSync(BIN, ['samples', '--out', IN, '--count', '6', '--seed', '5', '--layout', 'mixed', '--variants', '--manifest', mf]);
  for (const line of fs.readFileSync(mf, 'utf8').split('\n').filter(Boolean)) {
    const m = JSON.parse(line);
    manifest.set(m.file, m);
  }
  assert.deepEqual(
    new Set([...manifest.values()].filter((m) => m.kind === 'good').map((m) => m.layout)),
    new Set(['3x4', '6x2', '12x1']),
  );
});

describe('run with EXTRACT_WAVEFORMS=1', () => {
  const OUT = path.join(work, 'out');
  let res;
  let results; // file_id -> results row
  let waves; // waveform rows (DuckDB), in file order over the batches
  let files;
  before(async () => {
    // Small batches and few workers: rows are streamed across batches and
    // through the write window.
    res = run(['run', '--source', IN, '--dest', OUT, '--run-id', 'wave-run'], {
      EXTRACT_WAVEFORMS: '1',
      BATCH_SIZE: '5',
      CONCURRENCY: '3',
    });
    const rows = await query(`SELECT * FROM read_parquet('${OUT}/metadata/*.parquet') ORDER BY source_key`);
    results = new Map(rows.map((r) => [r.file_id, r]));
    files = fs.readdirSync(path.join(OUT, 'waveforms')).sort();
    waves = [];
    for (const f of files) {
      waves.push(
        ...(await query(
          `SELECT * FROM read_parquet(${sqlString(path.join(OUT, 'waveforms', f))}, file_row_number = true) ORDER BY file_row_number`,
        )),
      );
    }
  });

  test('the summary says where the waveforms went', () => {
    assert.equal(res.code, 1, res.stderr); // the failed variants
    assert.match(res.stdout, /^14 PDFs in 3 batches:/m);
    assert.match(res.stdout, /^waveforms: file:\/\/.*\/out\/waveforms\/$/m);
  });

  test('one waveform file per results file, same names and footer metadata', async () => {
    assert.deepEqual(files, ['batch_000000.parquet', 'batch_000001.parquet', 'batch_000002.parquet']);
    assert.deepEqual(fs.readdirSync(path.join(OUT, 'metadata')).sort(), files);
    for (const f of files) {
      const kv = (file) =>
        Object.fromEntries(
          parquetMetadata(fileArrayBuffer(file)).key_value_metadata.map(({ key, value }) => [key, value]),
        );
      const w = kv(path.join(OUT, 'waveforms', f));
      const m = kv(path.join(OUT, 'metadata', f));
      assert.deepEqual(w, m, f);
      assert.equal(w['bpecg.run_id'], 'wave-run');
      assert.equal(w['bpecg.batch_id'], String(Number(f.slice(6, 12))));
    }
  });

  test('the schema has the documented types', async () => {
    const cols = await query(`DESCRIBE SELECT * FROM read_parquet('${OUT}/waveforms/*.parquet')`);
    assert.deepEqual(Object.fromEntries(cols.map((c) => [c.column_name, c.column_type])), {
      run_id: 'VARCHAR',
      batch_id: 'BIGINT',
      source_key: 'VARCHAR',
      file_id: 'VARCHAR',
      lead: 'VARCHAR',
      rhythm: 'BOOLEAN',
      start_s: 'DOUBLE',
      sample_rate_hz: 'INTEGER',
      samples: 'FLOAT[]',
      units: 'VARCHAR',
      calibration_source: 'VARCHAR',
      mm_per_mv: 'DOUBLE',
      paper_speed_mm_s: 'DOUBLE',
      quality: 'VARCHAR[]',
      speed_source: 'VARCHAR',
      page: 'INTEGER',
      pages: 'INTEGER',
      layout: 'VARCHAR',
    });
    const rcols = await query(`DESCRIBE SELECT * FROM read_parquet('${OUT}/metadata/*.parquet')`);
    assert.deepEqual(
      rcols.filter((c) => /^(leads_extracted|waveform_status)$/.test(c.column_name)).map((c) => [c.column_name, c.column_type]),
      [
        ['leads_extracted', 'INTEGER'],
        ['waveform_status', 'VARCHAR'],
      ],
    );
  });

  test('DuckDB, arrow-rs and hyparquet read the same rows, float for float', async () => {
    let total = 0;
    for (const f of files) {
      const { duck, hy, arrow } = await readAll(path.join(OUT, 'waveforms', f));
      total += duck.length;
      const want = duck.map(describeRow);
      assert.deepEqual(hy.map(describeRow), want, `${f}: hyparquet`);
      assert.deepEqual(arrow.map(describeRow), want, `${f}: arrow-rs`);
    }
    // The last batch has no vector page at all: an empty file, still read.
    assert.equal(total, waves.length);
    assert.ok(total >= 6 * 12, `${total} rows`);
  });

  test('good PDFs: every lead once by its name (+ the rhythm strip of 3x4)', () => {
    let good = 0;
    for (const [file, m] of manifest) {
      if (m.kind !== 'good') continue;
      good++;
      const id = file.replace(/\.pdf$/, '');
      const rows = waves.filter((w) => w.file_id === id);
      const leads = rows.filter((w) => !w.rhythm).map((w) => w.lead);
      assert.deepEqual([...leads].sort(), [...TWELVE].sort(), `${id} (${m.layout})`);
      const rhythm = rows.filter((w) => w.rhythm).map((w) => w.lead);
      assert.deepEqual(rhythm, m.layout === '3x4' ? ['II'] : [], id);
      const r = results.get(id);
      assert.equal(r.status, 'success', id);
      assert.equal(r.waveform_status, 'extracted', id);
      for (const w of rows) {
        assert.equal(w.source_key, file);
        assert.equal(w.run_id, 'wave-run');
        assert.equal(w.sample_rate_hz, 500);
        assert.equal(w.units, 'mV');
        // The page prints "25 mm/s" on a 1 mm grid.
        assert.equal(w.paper_speed_mm_s, 25);
        assert.equal(w.speed_source, 'legend');
        assert.equal(w.page, 2);
        assert.equal(w.pages, 1);
        assert.equal(w.layout, { '3x4': '3x4+1', '6x2': '6x2', '12x1': '12x1' }[m.layout], id);
        assert.equal(w.calibration_source, 'pulse', `${id} ${w.lead}`);
        // Read off the drawn pulse, so within a hair of the true gain.
        assert.ok(Math.abs(w.mm_per_mv - m.mm_per_mv) < 0.01 * m.mm_per_mv, `${id} ${w.lead}: ${w.mm_per_mv}`);
        // 10 s for a rhythm strip or a 12x1 row, 5 s for 6x2, 2.5 s for 3x4.
        const secs = w.rhythm || m.layout === '12x1' ? 10 : m.layout === '6x2' ? 5 : 2.5;
        assert.ok(Math.abs(w.samples.length - secs * 500) <= 1, `${id} ${w.lead}: ${w.samples.length} samples`);
      }
    }
    assert.equal(good, 6);
  });

  test('leads_extracted is the number of waveform rows of each file_id', () => {
    const count = new Map();
    for (const w of waves) count.set(w.file_id, (count.get(w.file_id) ?? 0) + 1);
    assert.equal(results.size, 14);
    for (const [id, r] of results) {
      assert.equal(r.leads_extracted ?? 0, count.get(id) ?? 0, id);
    }
    // Rows follow the results' order (the listing), then page order.
    const order = [...results.keys()];
    const seen = [...new Set(waves.map((w) => w.file_id))];
    assert.deepEqual(seen, order.filter((id) => count.has(id)));
  });

  test('variants: raster pages say raster_only, text pages no_traces, failed PDFs no status', () => {
    const r = results.get('variant_raster_only');
    assert.equal(r.waveform_status, 'raster_only');
    assert.equal(r.leads_extracted, 0);
    assert.equal(r.status, 'success'); // its crop is still there
    for (const id of ['variant_encrypted', 'variant_empty', 'variant_not_pdf']) {
      assert.equal(results.get(id).status, 'failed', id);
      assert.equal(results.get(id).waveform_status, null, id);
      assert.equal(results.get(id).leads_extracted, null, id);
    }
    // One page of text: read, and no traces on it.
    assert.equal(results.get('variant_one_page').waveform_status, 'no_traces');
    assert.equal(results.get('variant_one_page').leads_extracted, 0);
    // The vector variants are extracted like the good samples.
    for (const id of ['variant_many_pages', 'variant_huge_page']) {
      assert.equal(results.get(id).waveform_status, 'extracted', id);
      assert.equal(results.get(id).leads_extracted, 13, id);
    }
  });

  test('samples match the signal that was drawn (RMS < 0.01 mV)', () => {
    const checked = new Set();
    for (const [file, m] of manifest) {
      if (m.page2 !== 'vector' || m.kind === 'truncated' || m.kind === 'encrypted') continue;
      const id = file.replace(/\.pdf$/, '');
      for (const w of waves.filter((x) => x.file_id === id)) {
        const truth = signal(m.seed, m.index, w.lead, w.start_s, w.sample_rate_hz, w.samples.length);
        const e = rms(w.samples, truth);
        assert.ok(e < 0.01, `${id} ${w.lead}${w.rhythm ? ' (rhythm)' : ''}: RMS ${e.toFixed(5)} mV`);
      }
      checked.add(m.layout);
    }
    assert.deepEqual(checked, new Set(['3x4', '6x2', '12x1']));
  });

  test('a rerun writes the same waveform files, byte for byte', () => {
    const again = path.join(work, 'again');
    const r2 = run(['run', '--source', IN, '--dest', again, '--run-id', 'wave-run'], {
      EXTRACT_WAVEFORMS: '1',
      BATCH_SIZE: '5',
      CONCURRENCY: '4',
    });
    assert.equal(r2.code, 1, r2.stderr);
    for (const f of files) {
      assert.ok(
        fs.readFileSync(path.join(OUT, 'waveforms', f)).equals(fs.readFileSync(path.join(again, 'waveforms', f))),
        `${f} differs`,
      );
    }
  });
});

describe('run without EXTRACT_WAVEFORMS', () => {
  test('no waveform file, null columns, no summary line', async () => {
    const out = path.join(work, 'off');
    const r = run(['run', '--source', IN, '--dest', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /waveforms:/);
    assert.ok(!fs.existsSync(path.join(out, 'waveforms')));
    const rows = await query(
      `SELECT count(*) n, count(leads_extracted) l, count(waveform_status) s FROM read_parquet('${out}/metadata/*.parquet')`,
    );
    assert.deepEqual(rows, [{ n: 14n, l: 0n, s: 0n }]);
  });

  test('a malformed setting is refused, naming it', () => {
    const r = run(['run', '--source', IN, '--dest', path.join(work, 'bad')], { EXTRACT_WAVEFORMS: 'yes' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /EXTRACT_WAVEFORMS=yes: must be 0 or 1/);
    const r2 = run(['run', '--source', IN, '--dest', path.join(work, 'bad'), '--extract-waveforms', '--gain-mm-mv', '0']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--gain-mm-mv=0: must be a number from 1 to 100/);
    assert.ok(!fs.existsSync(path.join(work, 'bad')));
  });
});

describe('run to S3', () => {
  let s3;
  before(async () => {
    s3 = await startS3({ buckets: ['wsrc', 'wdst'] });
  });
  after(async () => {
    if (s3) await s3.stop();
  });

  test('the waveform file lands in the bucket next to the results', async () => {
    const few = ['ecg_00000.pdf', 'ecg_00001.pdf', 'variant_raster_only.pdf'];
    for (const f of few) {
      const r = await s3.aws(['s3', 'cp', '--only-show-errors', path.join(IN, f), `s3://wsrc/pdfs/${f}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    // Async: the verifying proxy runs in this process.
    const r = await runBin(BIN, ['run', '--source', 's3://wsrc/pdfs/', '--dest', 's3://wdst/out/', '--extract-waveforms'], {
      env: s3.etlEnv({ LOG_LEVEL: 'warn' }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^waveforms: s3:\/\/wdst\/out\/waveforms\/$/m);
    const keys = (await s3.list('wdst')).map((o) => o.Key).filter((k) => k.endsWith('.parquet'));
    assert.deepEqual(keys.sort(), ['out/metadata/batch_000000.parquet', 'out/waveforms/batch_000000.parquet']);
    const g = await s3.get('wdst', 'out/waveforms/batch_000000.parquet');
    const file = path.join(work, 's3-waves.parquet');
    fs.writeFileSync(file, g.body);
    const rows = await query(
      `SELECT file_id, source_key, count(*) n FROM read_parquet(${sqlString(file)}) GROUP BY ALL ORDER BY 1`,
    );
    assert.deepEqual(rows, [
      { file_id: 'ecg_00000', source_key: 'pdfs/ecg_00000.pdf', n: 13n },
      { file_id: 'ecg_00001', source_key: 'pdfs/ecg_00001.pdf', n: 12n },
    ]);
  });
});
