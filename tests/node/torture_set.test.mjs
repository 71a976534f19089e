// The torture set through `bpecg-etl run`: the samples and their variants,
// random byte flips and truncations of good PDFs, and hand-built hostile
// files (deep nesting, huge images, gigantic and zero-size page boxes,
// loops, bombs), generated here from a fixed seed. Every file must get
// exactly one row, nothing may crash or hang, and the whole set must
// finish within a bound derived from PDF_TIMEOUT_MS. Also what the run
// logs: MuPDF's warnings name the file, and PDF text appears only with the
// DEBUG_PAYLOADS switch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BIN, CORES, SLOW, checkRow, logLines, rowsOf, runTimed, tmpDir } from './torture_common.mjs';
import { hostile, mutants } from './torture_pdfs.mjs';

const SEED = 6;
const TIMEOUT_MS = 2000; // PDF_TIMEOUT_MS of these runs
const CONCURRENCY = 4;
const work = tmpDir('bpecg-torture-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

const IN = path.join(work, 'in');
const manifest = new Map();
let files = [];

before(() => {
  const mf = path.join(work, 'manifest.jsonl');
  execFileSync(BIN, ['samples', '--out', IN, '--count', '6', '--seed', String(SEED), '--variants', '--manifest', mf]);
  for (const line of fs.readFileSync(mf, 'utf8').split('\n').filter(Boolean)) {
    const m = JSON.parse(line);
    manifest.set(m.file, m);
  }
  // Mutate the good samples and the variants that still render.
  const good = [...manifest.values()]
    .filter((m) => ['good', 'raster_only', 'huge_page'].includes(m.kind))
    .map((m) => ({ name: m.file, bytes: fs.readFileSync(path.join(IN, m.file)) }));
  for (const f of [...mutants(good, SEED, { flips: 10, cuts: 6 }), ...hostile()]) {
    fs.writeFileSync(path.join(IN, f.name), f.bytes);
  }
  files = fs.readdirSync(IN).filter((f) => f.endsWith('.pdf')).sort();
});

// Each PDF costs at most its budget (plus reading, encoding and writing);
// CPU-heavy work runs on at most CORES threads at once.
function wallBound(n) {
  const perPdf = TIMEOUT_MS + 1000;
  return (Math.ceil(n / Math.min(CORES, CONCURRENCY)) * perPdf + 30000) * SLOW;
}

const BASE_ENV = {
  PDF_TIMEOUT_MS: String(TIMEOUT_MS),
  CONCURRENCY: String(CONCURRENCY),
  BATCH_SIZE: '50', // several batches, several Parquet files
};

describe('torture set through run', () => {
  const OUT = path.join(work, 'out');
  let res, rows;
  before(async () => {
    res = runTimed(['run', '--source', IN, '--dest', OUT, '--no-progress'], {
      ...BASE_ENV,
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
    }, wallBound(files.length) + 60000);
    if (res.code === 0 || res.code === 1) rows = await rowsOf(OUT);
  });

  test('the generated set is large and varied', () => {
    const kinds = (p) => files.filter((f) => f.startsWith(p)).length;
    assert.ok(files.length >= 150, `${files.length} files`);
    assert.equal(kinds('flip_'), 8 * 10);
    assert.equal(kinds('cut_'), 8 * 6);
    assert.ok(kinds('hostile_') >= 20);
    assert.ok(kinds('variant_') === 8 && kinds('ecg_') === 6);
  });

  test('no crash, no hang: exits 1 (some PDFs failed) within the bound', () => {
    assert.equal(res.signal, null, `killed by ${res.signal} after ${res.ms} ms (hang?)`);
    assert.equal(res.code, 1, res.stderr.slice(-2000));
    assert.ok(res.ms <= wallBound(files.length), `took ${res.ms} ms, bound ${wallBound(files.length)}`);
    assert.match(res.stdout, new RegExp(`^${files.length} PDFs in 4 batches: `, 'm'));
  });

  test('every file has exactly one row that keeps the row contract', () => {
    assert.deepEqual(rows.map((r) => r.source_key), files);
    for (const r of rows) checkRow(r, { budgetMs: (TIMEOUT_MS + 1500) * SLOW });
  });

  test('good files still succeed, broken ones say why', () => {
    const by = new Map(rows.map((r) => [r.source_key, r]));
    for (const [key, m] of manifest) {
      if (m.kind === 'good') assert.equal(by.get(key).status, 'success', key);
    }
    assert.equal(by.get('variant_encrypted.pdf').error_type, 'encrypted');
    assert.equal(by.get('variant_empty.pdf').error_type, 'empty');
    assert.equal(by.get('variant_not_pdf.pdf').error_type, 'not_pdf');
    // A 1-byte cut is not a PDF.
    assert.equal(by.get('cut_ecg_00000_0.pdf').status, 'failed');
    // A page tree that claims 2^31 pages hits the page-count limit.
    assert.equal(by.get('hostile_count_lies.pdf').error_type, 'too_complex');
    // Every mutant that opened and was repaired says so.
    const repaired = rows.filter((r) => r.repaired === true).length;
    assert.ok(repaired >= 10, `${repaired} repaired rows`);
  });

  test('the log is JSON lines; MuPDF warnings name their file; no PDF text', () => {
    const lines = logLines(res.stderr);
    const ids = new Set(rows.map((r) => r.file_id));
    const warnings = lines.filter((l) => l.event === 'mupdf_warning' || l.event === 'mupdf_error');
    assert.ok(warnings.length >= 50, `${warnings.length} MuPDF messages`);
    for (const w of warnings) {
      assert.equal(w.level, 'DEBUG');
      assert.ok(ids.has(w.file_id), `no file_id on ${JSON.stringify(w)}`);
    }
    // The same warning in two files is logged for each of them.
    const perFile = new Map();
    for (const w of warnings) perFile.set(w.message, (perFile.get(w.message) ?? new Set()).add(w.file_id));
    assert.ok([...perFile.values()].some((s) => s.size >= 5), 'each file logs its own warnings');
    assert.equal(lines.filter((l) => l.event === 'pdf_text').length, 0);
    for (const m of manifest.values()) {
      if (m.name) assert.ok(!res.stderr.includes(m.name), `patient name ${m.name} in the log`);
    }
    assert.ok(!res.stderr.includes('Torture report page'), 'page text in the log');
  });
});

describe('PDF_TIMEOUT_MS', () => {
  test('stops a long render: a timeout row within the budget', async () => {
    const dir = path.join(work, 'slow');
    const out = path.join(work, 'slow-out');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(IN, 'hostile_long_content.pdf'), path.join(dir, 'long.pdf'));
    const budget = 100; // the least PDF_TIMEOUT_MS accepts; the file needs seconds
    const r = runTimed(['run', '--source', dir, '--dest', out, '--no-progress'], {
      ...BASE_ENV,
      PDF_TIMEOUT_MS: String(budget),
    }, 60000 * SLOW);
    assert.equal(r.signal, null);
    const [row] = await rowsOf(out);
    assert.equal(row.error_type, 'timeout', row.error);
    assert.ok(['partial', 'failed'].includes(row.status));
    assert.ok(row.processing_time_ms <= (budget + 1000) * SLOW, `${row.processing_time_ms} ms`);
  });
});

describe('DEBUG_PAYLOADS', () => {
  const small = path.join(work, 'small');
  before(() => {
    fs.mkdirSync(small);
    for (const f of ['ecg_00000.pdf', 'ecg_00001.pdf', 'variant_one_page.pdf', 'hostile_deep_forms.pdf']) {
      fs.copyFileSync(path.join(IN, f), path.join(small, f));
    }
  });

  test('logs the first N bytes of each text at DEBUG, with the file_id', async () => {
    const out = path.join(work, 'payload-out');
    const r = runTimed(['run', '--source', small, '--dest', out, '--no-progress'], {
      ...BASE_ENV,
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      DEBUG_PAYLOADS: '40',
    }, wallBound(4) + 60000);
    assert.equal(r.signal, null);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const rows = new Map((await rowsOf(out)).map((x) => [x.file_id, x]));
    const events = logLines(r.stderr).filter((l) => l.event === 'pdf_text');
    assert.deepEqual(events.map((e) => e.file_id).sort(), [...rows.keys()].sort());
    for (const e of events) {
      const text = rows.get(e.file_id).text;
      assert.equal(e.bytes, Buffer.byteLength(text));
      assert.ok(Buffer.byteLength(e.text) <= 40);
      assert.equal(e.truncated, Buffer.byteLength(text) > 40);
      assert.ok(text.startsWith(e.text), `${e.file_id}: logged text is not the start of the row's`);
    }
  });

  test('is inert unless the level is DEBUG', async () => {
    const out = path.join(work, 'payload-info');
    const r = runTimed(['run', '--source', small, '--dest', out, '--no-progress'], {
      ...BASE_ENV,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DEBUG_PAYLOADS: '65536',
    }, wallBound(4) + 60000);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(logLines(r.stderr).filter((l) => l.event === 'pdf_text').length, 0);
    for (const f of ['ecg_00000.pdf', 'ecg_00001.pdf']) {
      assert.ok(!r.stderr.includes(manifest.get(f).name), 'patient name in the log');
    }
  });
});
