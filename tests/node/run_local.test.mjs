// End to end on local directories: `bpecg-etl samples` -> `bpecg-etl run`
// -> JPEG crops and Parquet results, read back with DuckDB and djpeg.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DuckDBInstance } from '@duckdb/node-api';
import { fileIdOf } from './hostile_common.mjs';

const BUILD = process.env.BPECG_BUILD_DIR;
const SHARED = process.env.BPECG_SHARED_DIR;
const BIN = path.join(BUILD, 'bpecg-etl');
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-run-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// Settings from the caller's environment must not leak into these runs.
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|AWS_LAMBDA_LOG|EXTRACT_WAVEFORMS|WAVEFORM_|PAPER_SPEED|GAIN_MM|REDACT_|FIELD_PATTERNS)/.test(k),
  ),
);

function run(args, env = {}) {
  const r = spawnSync(BIN, args, {
    env: { ...cleanEnv, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

let db;
async function query(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

async function rowsOf(dest) {
  const rows = await query(
    `SELECT * FROM read_parquet('${dest}/metadata/*.parquet') ORDER BY source_key`,
  );
  return new Map(rows.map((r) => [r.source_key, r]));
}

// Width and height from a JPEG's SOF marker.
function jpegSize(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.readUInt16BE(0), 0xffd8, `${file} is not a JPEG`);
  let i = 2;
  while (i < b.length) {
    const marker = b.readUInt16BE(i);
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xffc0 && marker <= 0xffc3) return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error(`${file}: no SOF marker`);
}

// djpeg decodes the whole image: a corrupt JPEG fails here.
function decodes(file) {
  const r = spawnSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 26 });
  return r.status === 0 && r.stdout.length > 0;
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

function sameImages(a, b) {
  const fa = listFiles(path.join(a, 'images'));
  assert.deepEqual(fa, listFiles(path.join(b, 'images')));
  for (const f of fa) {
    assert.ok(
      fs.readFileSync(path.join(a, 'images', f)).equals(fs.readFileSync(path.join(b, 'images', f))),
      `${f} differs`,
    );
  }
  return fa.length;
}

// Rows without the fields that depend on the clock.
function stable(rows) {
  return [...rows.values()].map(({ processing_time_ms, processed_at, ...r }) => {
    assert.ok(processing_time_ms >= 0);
    assert.ok(processed_at instanceof Date || typeof processed_at === 'object');
    return JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  });
}

const IN = path.join(work, 'in');
const manifest = new Map();

before(() => {
  const mf = path.join(work, 'manifest.jsonl');
  execFileSync(BIN, ['samples', '--out', IN, '--count', '12', '--seed', '3', '--variants', '--manifest', mf]);
  for (const line of fs.readFileSync(mf, 'utf8').split('\n').filter(Boolean)) {
    const m = JSON.parse(line);
    manifest.set(m.file, m);
  }
  // A non-PDF next to the PDFs is not listed; an upper-case suffix is.
  fs.writeFileSync(path.join(IN, 'notes.txt'), 'not a pdf, not listed\n');
  fs.copyFileSync(path.join(IN, 'ecg_00000.pdf'), path.join(IN, 'UPPER.PDF'));
  manifest.set('UPPER.PDF', { ...manifest.get('ecg_00000.pdf'), file: 'UPPER.PDF' });
});

describe('run on samples and variants', () => {
  const OUT = path.join(work, 'out');
  let res, rows;
  before(async () => {
    res = run(['run', '--source', IN, '--dest', OUT]);
    rows = await rowsOf(OUT);
  });

  test('exits 1 (failed variants) and prints a summary', () => {
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /^21 PDFs in 1 batches: \d+ success, \d+ partial, 3 failed/m);
    assert.match(res.stdout, /results: file:\/\/.*\/out\/metadata\//);
  });

  test('every listed PDF has exactly one row', async () => {
    const pdfs = fs.readdirSync(IN).filter((f) => /\.pdf$/i.test(f)).sort();
    assert.equal(pdfs.length, 21);
    assert.deepEqual([...rows.keys()], pdfs);
    const dup = await query(
      `SELECT source_key, count(*) n FROM read_parquet('${OUT}/metadata/*.parquet') GROUP BY 1 HAVING n > 1`,
    );
    assert.deepEqual(dup, []);
  });

  test('the schema has the documented types', async () => {
    const cols = await query(`DESCRIBE SELECT * FROM read_parquet('${OUT}/metadata/*.parquet')`);
    const types = Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]));
    assert.deepEqual(types, {
      batch_id: 'BIGINT',
      file_id: 'VARCHAR',
      source_key: 'VARCHAR',
      source_etag: 'VARCHAR',
      sha256: 'VARCHAR',
      size_bytes: 'BIGINT',
      page_count: 'INTEGER',
      repaired: 'BOOLEAN',
      text: 'VARCHAR',
      image_keys: 'VARCHAR[]',
      images_extracted: 'INTEGER',
      status: 'VARCHAR',
      error_type: 'VARCHAR',
      error: 'VARCHAR',
      processing_time_ms: 'DOUBLE',
      processed_at: 'TIMESTAMP WITH TIME ZONE',
      // measurements, appended after the original columns
      vent_rate_bpm: 'INTEGER',
      atrial_rate_bpm: 'INTEGER',
      pr_interval_ms: 'INTEGER',
      qrs_duration_ms: 'INTEGER',
      qt_ms: 'INTEGER',
      qtc_ms: 'INTEGER',
      p_axis_deg: 'INTEGER',
      r_axis_deg: 'INTEGER',
      t_axis_deg: 'INTEGER',
      interpretation: 'VARCHAR[]',
      acquired_at: 'TIMESTAMP WITH TIME ZONE',
      fields_rejected: 'INTEGER',
      // waveforms (EXTRACT_WAVEFORMS), appended likewise; null here
      leads_extracted: 'INTEGER',
      waveform_status: 'VARCHAR',
      // where each measurement was read, appended likewise
      fields_source: 'VARCHAR[]',
    });
    // The original columns keep their positions.
    assert.deepEqual(cols.slice(0, 3).map((c) => c.column_name), ['batch_id', 'file_id', 'source_key']);
    assert.equal(cols[15].column_name, 'processed_at');
  });

  test('good PDFs: text holds the report fields, one decodable 200x200 crop', () => {
    let good = 0;
    for (const [key, m] of manifest) {
      if (m.kind !== 'good') continue;
      good++;
      const r = rows.get(key);
      assert.equal(r.status, 'success', key);
      assert.equal(r.error_type, null);
      assert.equal(r.error, null);
      assert.equal(r.page_count, 2);
      assert.equal(r.repaired, false);
      assert.equal(r.batch_id, 0n);
      assert.equal(r.file_id, fileIdOf(key)); // README's rule
      assert.equal(r.size_bytes, BigInt(fs.statSync(path.join(IN, key)).size));
      assert.match(r.sha256, /^[0-9a-f]{64}$/);
      for (const field of [m.name, m.patient_id, m.dob, m.sex, m.device, m.institution, ...m.interpretation]) {
        assert.ok(r.text.includes(field), `${key}: text lacks ${field}`);
      }
      assert.match(r.text, new RegExp(`Vent\\. rate\\s+${m.vent_rate}\\s+BPM`));
      assert.match(r.text, new RegExp(`QT/QTc\\s+${m.qt}/${m.qtc}\\s+ms`));
      // The measurements round-trip exactly as typed columns.
      assert.deepEqual(
        [r.vent_rate_bpm, r.pr_interval_ms, r.qrs_duration_ms, r.qt_ms, r.qtc_ms, r.p_axis_deg, r.r_axis_deg, r.t_axis_deg],
        [m.vent_rate, m.pr, m.qrs, m.qt, m.qtc, m.p_axis, m.r_axis, m.t_axis],
        key,
      );
      assert.equal(r.atrial_rate_bpm, null, key); // the generator prints none
      assert.deepEqual(r.interpretation, m.interpretation, key);
      // The report's wall-clock time, stored as if it were UTC.
      assert.equal(r.acquired_at.toISOString(), `${m.acquired.replace(' ', 'T')}.000Z`, key);
      assert.equal(r.fields_rejected, 0, key);
      // Which printed label each value was read from.
      assert.deepEqual(
        r.fields_source,
        [
          'vent_rate_bpm=Vent. rate',
          'pr_interval_ms=PR interval',
          'qrs_duration_ms=QRS duration',
          'qt_ms=QT/QTc',
          'qtc_ms=QT/QTc',
          'p_axis_deg=P-R-T axes',
          'r_axis_deg=P-R-T axes',
          't_axis_deg=P-R-T axes',
          'acquired_at=Acquired',
        ],
        key,
      );
      assert.deepEqual(r.image_keys, [`images/${r.file_id}/region_0.jpg`]);
      assert.equal(r.images_extracted, 1);
      const jpg = path.join(OUT, r.image_keys[0]);
      assert.deepEqual(jpegSize(jpg), { w: 200, h: 200 });
      assert.ok(decodes(jpg), `${jpg} does not decode`);
    }
    assert.equal(good, 13);
  });

  test('each variant gets its status and error_type', () => {
    const want = {
      'variant_one_page.pdf': ['partial', 'missing_page', 0],
      'variant_encrypted.pdf': ['failed', 'encrypted', 0],
      'variant_empty.pdf': ['failed', 'empty', 0],
      'variant_not_pdf.pdf': ['failed', 'not_pdf', 0],
      'variant_raster_only.pdf': ['success', null, 1],
      'variant_many_pages.pdf': ['success', null, 1],
      'variant_huge_page.pdf': ['success', null, 1],
    };
    for (const [key, [status, type, images]] of Object.entries(want)) {
      const r = rows.get(key);
      assert.equal(r.status, status, key);
      assert.equal(r.error_type, type, key);
      assert.equal(r.images_extracted, images, key);
      assert.equal(r.image_keys.length, images, key);
      if (status === 'failed') {
        assert.equal(r.text, null, key);
        assert.equal(r.page_count, null, key);
        assert.ok(r.error.length > 0, key);
        // No text, no measurements: null, and nothing rejected.
        assert.equal(r.vent_rate_bpm, null, key);
        assert.equal(r.interpretation, null, key);
        assert.equal(r.acquired_at, null, key);
        assert.equal(r.fields_rejected, 0, key);
        assert.equal(r.fields_source, null, key);
      }
    }
    assert.equal(rows.get('variant_many_pages.pdf').page_count, 300);
    assert.ok(rows.get('variant_one_page.pdf').text.includes(manifest.get('variant_one_page.pdf').name));
    // A PDF without a crop page still has its measurements.
    assert.equal(rows.get('variant_one_page.pdf').qtc_ms, manifest.get('variant_one_page.pdf').qtc);
    assert.match(rows.get('variant_one_page.pdf').error, /crop page 2 does not exist/);
    // A truncated file is repaired by MuPDF: it must say so.
    const t = rows.get('variant_truncated.pdf');
    assert.equal(t.repaired, true);
    assert.notEqual(t.status, 'failed');
    assert.equal(rows.get('variant_empty.pdf').size_bytes, 0n);
  });

  test('re-running the batch rewrites the same bytes and rows', async () => {
    const again = path.join(work, 'again');
    const r2 = run(['run', '--source', IN, '--dest', again]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.equal(sameImages(OUT, again), 17);
    assert.deepEqual(stable(await rowsOf(again)), stable(rows));
    // Same destination again: still one row per PDF, same images.
    assert.equal(run(['run', '--source', IN, '--dest', again]).code, 1);
    assert.equal(sameImages(OUT, again), 17);
    assert.deepEqual(stable(await rowsOf(again)), stable(rows));
  });

  test('concurrency 1 and 16 give the same outputs', async () => {
    const c1 = path.join(work, 'c1');
    const c16 = path.join(work, 'c16');
    assert.equal(run(['run', '--source', IN, '--dest', c1, '--concurrency', '1']).code, 1);
    assert.equal(run(['run', '--source', IN, '--dest', c16], { CONCURRENCY: '16' }).code, 1);
    assert.equal(sameImages(c1, c16), 17);
    assert.deepEqual(stable(await rowsOf(c1)), stable(await rowsOf(c16)));
    assert.deepEqual(stable(await rowsOf(c1)), stable(rows));
  });
});

describe('batches and the cursor', () => {
  test('BATCH_SIZE splits the listing; every PDF once across batch files', async () => {
    const out = path.join(work, 'b5');
    const r = run(['run', '--source', IN, '--dest', out], { BATCH_SIZE: '5' });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(fs.readdirSync(path.join(out, 'metadata')).sort(), [
      'batch_000000.parquet',
      'batch_000001.parquet',
      'batch_000002.parquet',
      'batch_000003.parquet',
      'batch_000004.parquet',
    ]);
    const rows = await query(
      `SELECT source_key, batch_id FROM read_parquet('${out}/metadata/*.parquet', filename=true) ORDER BY source_key`,
    );
    const pdfs = fs.readdirSync(IN).filter((f) => /\.pdf$/i.test(f)).sort();
    assert.deepEqual(rows.map((x) => x.source_key), pdfs);
    // Batches cover consecutive runs of the listing, in order.
    rows.forEach((x, i) => assert.equal(Number(x.batch_id), Math.floor(i / 5)));
  });

  test('--max-batches, --start-after and --batch-id resume where told', async () => {
    const out = path.join(work, 'resume');
    let r = run(['run', '--source', IN, '--dest', out, '--batch-size', '4', '--max-batches', '2']);
    assert.equal(r.code, 0, r.stderr); // the first 8 keys are all good PDFs
    assert.deepEqual(fs.readdirSync(path.join(out, 'metadata')).sort(), ['batch_000000.parquet', 'batch_000001.parquet']);
    r = run(['run', '--source', IN, '--dest', out, '--batch-size=4', '--start-after', 'ecg_00006.pdf', '--batch-id', '2']);
    assert.equal(r.code, 1, r.stderr);
    const rows = await query(`SELECT source_key FROM read_parquet('${out}/metadata/*.parquet') ORDER BY 1`);
    const pdfs = fs.readdirSync(IN).filter((f) => /\.pdf$/i.test(f)).sort();
    assert.deepEqual(rows.map((x) => x.source_key), pdfs);
  });

  test('an empty source is a successful run with no batches', () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    const r = run(['run', '--source', empty, '--dest', path.join(work, 'empty-out')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0 PDFs in 0 batches/m);
  });
});

describe('crop regions', () => {
  test('pt regions map to pixels at IMAGE_DPI; outside regions make the row partial', async () => {
    const crops = path.join(work, 'crops.json');
    fs.writeFileSync(
      crops,
      JSON.stringify({
        unit: 'pt',
        regions: [
          { name: 'lead_II', x0: 100, y0: 100, x1: 300, y1: 300 },
          { name: 'edge', x0: 700, y0: 500, x1: 900, y1: 700 }, // clipped by the 792x612 page
          { name: 'away', x0: 2000, y0: 2000, x1: 2100, y1: 2100 }, // wholly outside
        ],
      }),
    );
    const out = path.join(work, 'pt');
    const r = run(['run', '--source', IN, '--dest', out, '--crops', crops, '--image-dpi', '150']);
    assert.equal(r.code, 1, r.stderr);
    const row = (await rowsOf(out)).get('ecg_00001.pdf');
    assert.equal(row.status, 'partial');
    assert.equal(row.error_type, 'region_outside_page');
    assert.match(row.error, /region away lies outside page 2/);
    assert.deepEqual(row.image_keys, ['images/ecg_00001/lead_II.jpg', 'images/ecg_00001/edge.jpg']);
    // floor(v * 150 / 72 + 0.5): 100 pt -> 208 px, 300 pt -> 625 px.
    assert.deepEqual(jpegSize(path.join(out, row.image_keys[0])), { w: 417, h: 417 });
    // 700 pt -> 1458 px; the page is 792x612 pt -> 1650x1275 px.
    assert.deepEqual(jpegSize(path.join(out, row.image_keys[1])), { w: 1650 - 1458, h: 1275 - 1042 });
  });

  test('the seed bare-list form in CROP_REGIONS is pixels', async () => {
    const out = path.join(work, 'bare');
    const r = run(['run', '--source', IN, '--dest', out, '--max-batches', '1', '--batch-size', '1'], {
      CROP_REGIONS: '[[0,0,50,40],[10,10,20,30]]',
    });
    assert.equal(r.code, 0, r.stderr);
    const row = (await rowsOf(out)).get('UPPER.PDF');
    // Only a lower-case .pdf is dropped (UPPER.pdf would be UPPER).
    assert.equal(row.file_id, 'UPPER%2EPDF');
    assert.deepEqual(row.image_keys, ['images/UPPER%2EPDF/region_0.jpg', 'images/UPPER%2EPDF/region_1.jpg']);
    assert.deepEqual(jpegSize(path.join(out, row.image_keys[0])), { w: 50, h: 40 });
    assert.deepEqual(jpegSize(path.join(out, row.image_keys[1])), { w: 10, h: 20 });
  });
});

describe('measurement patterns (FIELD_PATTERNS_FILE)', () => {
  test('site patterns come before the built-in ones; out-of-range values are counted', async () => {
    const f = path.join(work, 'fields.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        patterns: [
          { field: 'atrial_rate_bpm', regex: 'Vent\\. rate ([0-9]+) BPM' },
          // 0.45 x the QTc: below 200 ms it is out of range
          { field: 'qtc_ms', regex: 'QT/QTc [0-9]+/([0-9]+)', scale: 0.45 },
        ],
      }),
    );
    const out = path.join(work, 'fields');
    const r = run(['run', '--source', IN, '--dest', out, '--field-patterns-file', f, '--max-batches', '1', '--batch-size', '8']);
    assert.equal(r.code, 0, r.stderr);
    const rows = await rowsOf(out);
    assert.equal(rows.size, 8);
    let rejected = 0;
    let kept = 0;
    for (const [key, row] of rows) {
      const m = manifest.get(key);
      assert.equal(row.atrial_rate_bpm, m.vent_rate, key);
      assert.equal(row.vent_rate_bpm, m.vent_rate, key); // the built-in one still reads
      assert.ok(row.fields_source.includes('atrial_rate_bpm=(FIELD_PATTERNS_FILE patterns[0])'), key);
      assert.ok(row.fields_source.includes('vent_rate_bpm=Vent. rate'), key);
      const scaled = Math.round(m.qtc * 0.45);
      assert.equal(row.qtc_ms, scaled >= 200 ? scaled : null, key);
      assert.equal(row.fields_rejected, scaled >= 200 ? 0 : 1, key);
      rejected += row.fields_rejected;
      kept += row.qtc_ms !== null;
    }
    assert.ok(rejected > 0 && kept > 0, `${rejected} rejected, ${kept} kept`);
  });

  test('a bad pattern file stops the run, naming the file, pattern and problem', () => {
    const f = path.join(work, 'bad-fields.json');
    fs.writeFileSync(f, JSON.stringify({ patterns: [{ field: 'qt_ms', regex: 'QT ([0-9]+)' }, { field: 'qt_ms', regex: 'QT (' }] }));
    const r = run(['run', '--source', IN, '--dest', path.join(work, 'never')], { FIELD_PATTERNS_FILE: f });
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${f}: patterns[1].regex: `), r.stderr);
    assert.ok(!fs.existsSync(path.join(work, 'never', 'metadata')));
  });
});

describe('configuration errors stop the run with exit 2', () => {
  const cases = [
    [{ IMAGE_DPI: '20' }, [], /IMAGE_DPI=20: .*36.*600/],
    [{}, ['--concurrency', 'abc'], /--concurrency=abc: .*1.*256/],
    [{ BATCH_SIZE: '0' }, [], /BATCH_SIZE=0/],
    [{ PARQUET_COMPRESSION: 'lz4' }, [], /PARQUET_COMPRESSION=lz4: .*zstd/],
    [{ CROP_REGIONS: '{"unit":"cm","regions":[]}' }, [], /CROP_REGIONS/],
    [{}, ['--no-such-flag'], /--no-such-flag/],
  ];
  for (const [env, flags, re] of cases) {
    test(`${JSON.stringify(env)} ${flags.join(' ')}`, () => {
      const out = path.join(work, 'never');
      const r = run(['run', '--source', IN, '--dest', out, ...flags], env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.ok(!fs.existsSync(path.join(out, 'metadata')), 'nothing may run');
    });
  }

  test('a missing source directory cannot be run (exit 3)', () => {
    const r = run(['run', '--source', path.join(work, 'nope'), '--dest', path.join(work, 'x')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /nope/);
  });
});

describe('migration: the text column equals PyMuPDF get_text()', () => {
  const py = '/usr/bin/python3';
  const gen = SHARED && path.join(SHARED, 'bench', 'gen_ecg_pdfs.py');
  test('on the Python baseline generator corpus', async () => {
    assert.ok(gen && fs.existsSync(gen), `the baseline generator is missing: ${gen}`);
    const src = path.join(work, 'bench');
    execFileSync(py, [gen, '--out', src, '--count', '8', '--seed', '5', '--jobs', '1'], { stdio: 'ignore' });
    const out = path.join(work, 'bench-out');
    const r = run(['run', '--source', src, '--dest', out]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const rows = await rowsOf(out);
    let compared = 0;
    for (const f of fs.readdirSync(path.join(src, 'expected'))) {
      const exp = JSON.parse(fs.readFileSync(path.join(src, 'expected', f), 'utf8'));
      const key = f.replace(/\.json$/, '.pdf');
      if (exp.page1_text_pymupdf == null) continue;
      assert.ok(rows.has(key), `no row for ${key}`);
      assert.equal(rows.get(key).text, exp.page1_text_pymupdf, key);
      compared++;
    }
    assert.ok(compared >= 8, `compared ${compared}`);
  });
});
