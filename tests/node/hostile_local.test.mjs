// What hostile inputs do to a local run: names, settings, PDFs whose
// errors quote patient data. Every case here failed before issue 15.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import {
  SLOW,
  duckRows,
  fileIdOf,
  hyRows,
  listFiles,
  logLines,
  makePdf,
  run,
  samples,
  tmpDir,
} from './hostile_common.mjs';

const work = tmpDir('bpecg-hostile-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

describe('patient data in MuPDF messages', () => {
  // A damaged content stream: MuPDF reports each unknown operator by
  // quoting it, and here the operators are a patient's name and MRN.
  const src = path.join(work, 'mupdf-src');
  fs.mkdirSync(src);
  fs.writeFileSync(
    path.join(src, 'report.pdf'),
    makePdf('BT /F1 24 Tf 72 700 Td (Report) Tj ET Jane MRN-55512345 Doe'),
  );

  test('DEBUG logs name the message class, never the quoted tokens', () => {
    const r = run(['run', '--source', src, '--dest', path.join(work, 'mupdf-out1')], {
      LOG_LEVEL: 'DEBUG',
      DEBUG_PAYLOADS: '0',
    });
    assert.equal(r.code, 0, r.stderr);
    const mupdf = logLines(r.stderr).filter((l) => /^mupdf_|^pdf_op_failed$/.test(l.event));
    assert.ok(mupdf.length >= 2, 'MuPDF messages are still logged');
    assert.ok(mupdf.some((l) => l.message === 'unknown keyword [redacted]'), JSON.stringify(mupdf));
    for (const word of ['Jane', 'Doe', '55512345', 'MRN']) assert.ok(!r.stderr.includes(word), `${word} in the log`);
  });

  test('DEBUG_PAYLOADS=1 logs them as MuPDF wrote them', () => {
    const r = run(['run', '--source', src, '--dest', path.join(work, 'mupdf-out2')], {
      LOG_LEVEL: 'DEBUG',
      DEBUG_PAYLOADS: '1',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(logLines(r.stderr).some((l) => l.message === "unknown keyword: 'Jane'"));
  });
});

// A directory of PDFs named by keys (strings, or Buffers for any bytes),
// copies of `samples` output.
function sourceOf(name, keys) {
  const pool = path.join(work, `${name}-pool`);
  const src = path.join(work, `${name}-src`);
  samples(pool, Math.min(keys.length, 5), 4);
  const pdfs = fs.readdirSync(pool).filter((f) => f.endsWith('.pdf')).sort();
  keys.forEach((k, i) => {
    const full = Buffer.concat([Buffer.from(`${src}/`), Buffer.isBuffer(k) ? k : Buffer.from(k)]);
    fs.mkdirSync(full.subarray(0, full.lastIndexOf(0x2f)), { recursive: true });
    fs.copyFileSync(path.join(pool, pdfs[i % pdfs.length]), full);
  });
  return src;
}

describe('keys that are not UTF-8 (item 1)', () => {
  test('one bad name is one failed bad_key row; the batch is written', async () => {
    const src = sourceOf('utf8', ['good.pdf', Buffer.from('caf\xe9.pdf', 'latin1')]);
    const out = path.join(work, 'utf8-out');
    for (const attempt of [1, 2]) {
      const r = run(['run', '--source', src, '--dest', out]);
      assert.equal(r.code, 1, `attempt ${attempt}: ${r.stderr}`);
      const rows = await duckRows(out);
      assert.equal(rows.length, 2);
      const bad = rows.find((x) => x.error_type === 'bad_key');
      assert.equal(bad.source_key, 'caf%E9.pdf');
      assert.equal(bad.file_id, 'caf%E9');
      assert.equal(bad.status, 'failed');
      assert.match(bad.error, /not valid UTF-8/);
      const good = rows.find((x) => x.source_key === 'good.pdf');
      assert.equal(good.status, 'success');
      // A second, independent reader.
      const hy = await hyRows(path.join(out, 'metadata', 'batch_000000.parquet'));
      assert.deepEqual(hy.map((x) => x.source_key).sort(), ['caf%E9.pdf', 'good.pdf']);
    }
  });
});

describe('file_id is unique per key (item 3)', () => {
  const keys = ['x.pdf', 'x.PDF', 'x.Pdf', '_.pdf', '..pdf', 'a\\b.pdf', 'a_b.pdf', 'p%41.pdf', 'pA.pdf', 'd/x.pdf', 'd_x.pdf'];
  test('case twins and escaping twins get their own crops', async () => {
    const src = sourceOf('twins', keys);
    const out = path.join(work, 'twins-out');
    const r = run(['run', '--source', src, '--dest', out]);
    assert.equal(r.code, 0, r.stderr);
    const rows = await duckRows(out);
    assert.equal(rows.length, keys.length);
    assert.equal(new Set(rows.map((x) => x.file_id)).size, keys.length, 'distinct file_ids');
    for (const row of rows) {
      assert.equal(row.status, 'success', row.source_key);
      assert.equal(row.file_id, fileIdOf(row.source_key), row.source_key);
      assert.deepEqual(row.image_keys, [`images/${row.file_id}/region_0.jpg`]);
      assert.ok(fs.existsSync(path.join(out, row.image_keys[0])), row.image_keys[0]);
    }
    assert.equal(listFiles(path.join(out, 'images')).length, keys.length, 'one crop each, none overwritten');
  });
});

describe('every listed PDF gets a row (item 4)', () => {
  test('newline, backslash, control characters and the temp prefix are listed', async () => {
    const keys = ['plain.pdf', 'new\nline.pdf', 'back\\slash.pdf', '.bpecg-tmp-0123456789abcdef.pdf', 'tab\there.pdf', 'cr\rhere.pdf'];
    const src = sourceOf('names', keys);
    // The store's own in-flight temp file (no .pdf): never an object.
    fs.writeFileSync(path.join(src, '.bpecg-tmp-0123456789abcdef'), 'partial');
    const out = path.join(work, 'names-out');
    const r = run(['run', '--source', src, '--dest', out]);
    assert.equal(r.code, 0, r.stderr);
    const rows = await duckRows(out);
    assert.deepEqual(rows.map((x) => x.source_key).sort(), [...keys].sort());
    assert.ok(rows.every((x) => x.status === 'success'));
  });
});

describe('settings', () => {
  test('BATCH_ID is bounded (item 6)', () => {
    const src = sourceOf('bid', ['a.pdf']);
    const r = run(['run', '--source', src, '--dest', path.join(work, 'bid-out'), '--batch-id', '9223372036854775807']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--batch-id=9223372036854775807: must be an integer from 0 to 999999999999/);
    assert.ok(!fs.existsSync(path.join(work, 'bid-out', 'metadata')));
  });

  for (const v of ['CROP_REGIONS_FILE', 'REDACT_REGIONS_FILE', 'FIELD_PATTERNS_FILE']) {
    test(`a FIFO as ${v} fails at once, naming the variable (item 12)`, () => {
      const src = sourceOf(`fifo-${v}`, ['a.pdf']);
      const fifo = path.join(work, `${v}.fifo`);
      spawnSync('mkfifo', [fifo]);
      const r = run(['run', '--source', src, '--dest', path.join(work, `fifo-${v}-out`)], { [v]: fifo }, 20000);
      assert.equal(r.signal, null, 'it hung');
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`${v}=${fifo}: must be a regular file, not a FIFO`), r.stderr);
    });
  }

  test('ALLOW_HTTP and FAIL_INVOCATION_ON are checked like any setting', () => {
    const src = sourceOf('badset', ['a.pdf']);
    let r = run(['run', '--source', src, '--dest', path.join(work, 'badset-out')], { ALLOW_HTTP: 'yes' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ALLOW_HTTP=yes: must be `?0`? or `?1`?/);
    r = run(['run', '--source', src, '--dest', path.join(work, 'badset-out')], { FAIL_INVOCATION_ON: 'sometimes' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /FAIL_INVOCATION_ON=sometimes/);
    assert.match(r.stderr, /never/);
  });
});

describe('console logs and hostile names (item 12)', () => {
  test('no ESC or CR of a key reaches the terminal', () => {
    const src = sourceOf('esc', ['red\x1b[31mtext.pdf', 'over\rwrite.pdf', Buffer.from('caf\xe9\x1b.pdf', 'latin1')]);
    const r = run(['run', '--source', src, '--dest', path.join(work, 'esc-out')], { LOG_FORMAT: 'console', LOG_LEVEL: 'debug' });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!/[\x1b\r]/.test(r.stderr + r.stdout), 'a raw ESC or CR was printed');
    assert.ok(r.stderr.includes('red%1B[31mtext'), 'the file_id is logged, escaped');
  });
});

describe('listing cost (item 12)', () => {
  test('100,000 other files before the PDFs: the first batch is fast', () => {
    const src = path.join(work, 'many-src');
    fs.mkdirSync(src);
    for (let i = 0; i < 100000; i++) fs.closeSync(fs.openSync(path.join(src, `note_${String(i).padStart(6, '0')}.txt`), 'w'));
    const pool = path.join(work, 'many-pool');
    samples(pool, 5, 2);
    for (let i = 0; i < 100; i++) fs.copyFileSync(path.join(pool, `ecg_0000${i % 5}.pdf`), path.join(src, `zz_${String(i).padStart(3, '0')}.pdf`));
    const out = path.join(work, 'many-out');
    const r = run(['run', '--source', src, '--dest', out, '--max-batches', '1'], {}, 120000);
    assert.equal(r.code, 0, r.stderr);
    // Before: 1,000 pages of 100 skipped files, each reading the whole
    // directory (28.8 s here); after, one pass (0.4 s).
    assert.ok(r.ms < 8000 * SLOW, `first batch took ${r.ms} ms`);
    fs.rmSync(src, { recursive: true, force: true });
  });
});
