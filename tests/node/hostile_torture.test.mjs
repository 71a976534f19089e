// The torture test of issue 15: a source with 50 hostile names (not UTF-8,
// control characters, "..", names of about 1,000 bytes, case twins, the
// store's temp prefix, escaping twins) and 50 ordinary PDFs. Exactly 100
// rows, 100 distinct file_ids, nothing written outside the destination,
// and the documented exit status (1: the rows that could not be
// processed are failed, with bad_key, and written).
//
// NAME_MAX is 255 bytes per path component on Linux, so the long keys are
// made of nested folders.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import { duckRows, fileIdOf, hyRows, run, samples, tmpDir } from './hostile_common.mjs';

const work = tmpDir('bpecg-torture15-');
after(() => process.env.KEEP_TORTURE || fs.rmSync(work, { recursive: true, force: true }));

const L = (s) => Buffer.from(s, 'latin1'); // bytes as written
const long = (n, c) => c.repeat(n);

const HOSTILE = [
  // Not UTF-8.
  L('caf\xe9.pdf'),
  L('\xff\xfe.pdf'),
  L('bad\xc3(.pdf'),
  L('\xed\xa0\x80surrogate.pdf'),
  L('over\xc0\xaflong.pdf'),
  // Control characters (C0, DEL, C1).
  '\x01start.pdf',
  'tab\there.pdf',
  'new\nline.pdf',
  'carriage\rreturn.pdf',
  'esc\x1b[2Jclear.pdf',
  'del\x7f.pdf',
  'bell\x07.pdf',
  'c1\u009bcsi.pdf',
  // Dots.
  '..pdf',
  '...pdf',
  'a..b.pdf',
  '..dir/x.pdf',
  'dots/..pdf',
  // About 1,000 bytes, in folders of at most 255.
  `${long(240, 'a')}/${long(240, 'b')}/${long(240, 'c')}/${long(250, 'd')}.pdf`,
  `${long(200, 'e')}/${long(200, 'f')}/${long(200, 'g')}/${long(200, 'h')}/${long(200, 'i')}.pdf`,
  `${long(230, 'j')}/${long(230, 'k')}/${long(230, 'l')}/${long(200, 'm')}.pdf`,
  `${long(220, 'n')}/${long(220, 'o')}/${long(220, 'p')}/${long(220, 'q')}/${long(220, 'r')}.pdf`,
  // Case twins.
  'x.pdf',
  'x.PDF',
  'X.pdf',
  'x.Pdf',
  'CASE.pdf',
  'case.pdf',
  'twin/a.pdf',
  'TWIN/a.pdf',
  // The store's temp prefix (only its own in-flight files are skipped).
  '.bpecg-tmp-0123456789abcdef.pdf',
  '.bpecg-tmp-x.pdf',
  'deep/.bpecg-tmp-aaaaaaaaaaaaaaaa.PDF',
  // Escaping twins.
  '%41.pdf',
  'A.pdf',
  'a\\b.pdf',
  'a%5Cb.pdf',
  '_.pdf',
  '.pdf',
  'sub/.pdf',
  'x.PDF.pdf',
  // Other characters keys carry.
  ' lead space.pdf',
  'trail space .pdf',
  '\u65e5\u672c\u8a9e.pdf',
  'emoji\u{1f600}.pdf',
  'semi;colon&amp=eq+plus.pdf',
  'quote"\'paren(1).pdf',
  'hash#query?.pdf',
  'x.pdf.pdf',
  'star*pipe|lt<gt>.pdf',
];

test('50 hostile names and 50 ordinary PDFs: 100 rows, 100 file_ids', async () => {
  assert.equal(HOSTILE.length, 50);
  const pool = path.join(work, 'pool');
  samples(pool, 50, 15);
  const pdfs = fs.readdirSync(pool).sort();
  const box = path.join(work, 'box');
  const src = path.join(box, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (const f of pdfs) fs.copyFileSync(path.join(pool, f), path.join(src, f));
  HOSTILE.forEach((k, i) => {
    const full = Buffer.concat([Buffer.from(`${src}/`), Buffer.isBuffer(k) ? k : Buffer.from(k)]);
    fs.mkdirSync(full.subarray(0, full.lastIndexOf(0x2f)), { recursive: true });
    fs.copyFileSync(path.join(pool, pdfs[i]), full);
  });
  // One of the store's own in-flight temp files: never an object.
  fs.writeFileSync(path.join(src, '.bpecg-tmp-fedcba9876543210'), 'partial');
  const dest = path.join(box, 'out');
  const r = run(['run', '--source', src, '--dest', dest, '--batch-size', '30'], {}, 300000);

  // Exit 1: the run completed and some PDFs failed (README).
  assert.equal(r.code, 1, r.stderr);
  const rows = await duckRows(dest);
  assert.equal(rows.length, 100);
  assert.equal(new Set(rows.map((x) => x.source_key)).size, 100, 'distinct source_keys');
  assert.equal(new Set(rows.map((x) => x.file_id)).size, 100, 'distinct file_ids');
  // A second reader agrees.
  const hy = [];
  for (const f of fs.readdirSync(path.join(dest, 'metadata'))) hy.push(...(await hyRows(path.join(dest, 'metadata', f))));
  assert.equal(hy.length, 100);

  // Every key is there, under README's rules for source_key and file_id.
  const keyText = (k) => {
    const b = Buffer.isBuffer(k) ? k : Buffer.from(k);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      // Not UTF-8: '%' and each byte that is not part of valid UTF-8 as
      // %XX (these test names have no valid multi-byte sequence).
      return [...b].map((c) => (c >= 0x80 || c === 0x25 ? `%${c.toString(16).toUpperCase()}` : String.fromCharCode(c))).join('');
    }
  };
  const want = new Map([...pdfs.map((f) => [f, f]), ...HOSTILE.map((k) => [keyText(k), k])]);
  assert.equal(want.size, 100);
  const byKey = new Map(rows.map((x) => [x.source_key, x]));
  for (const [text, k] of want) {
    const row = byKey.get(text);
    assert.ok(row, `no row for ${JSON.stringify(text)}`);
    assert.equal(row.file_id, fileIdOf(Buffer.isBuffer(k) ? k : Buffer.from(k)), JSON.stringify(text));
  }
  for (const f of pdfs) assert.equal(byKey.get(f).status, 'success', f);
  // What could not be processed says why.
  const failed = rows.filter((x) => x.status === 'failed');
  for (const x of failed) assert.equal(x.error_type, 'bad_key', `${JSON.stringify(x.source_key)}: ${x.error}`);
  for (const k of HOSTILE.slice(0, 5)) assert.equal(byKey.get(keyText(k)).error_type, 'bad_key');
  // The crops of every other row exist, each in its own folder.
  for (const x of rows) {
    if (x.status !== 'success') continue;
    assert.deepEqual(x.image_keys, [`images/${x.file_id}/region_0.jpg`]);
    assert.ok(fs.existsSync(path.join(dest, x.image_keys[0])), x.image_keys[0]);
  }

  // Nothing outside the destination: the box holds src and out only, and
  // no path under out leaves it.
  assert.deepEqual(fs.readdirSync(box).sort(), ['out', 'src']);
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      assert.ok(!e.isSymbolicLink(), `symlink ${p}`);
      assert.ok(fs.realpathSync(p).startsWith(`${dest}/`), p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dest);
  assert.ok(!/[\x1b\r]/.test(r.stderr + r.stdout), 'a raw ESC or CR was printed');
});
