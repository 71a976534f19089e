// The 87 real-world hard PDFs of ../shared/corpus/hard (from other PDF
// libraries' test suites: encrypted, damaged, bombs, odd fonts and images)
// through `bpecg-etl run`, as the crop page is set by default (page 2) and
// with every file's first page cropped: one row each, no crash, no hang,
// each PDF within its time budget, and peak memory bounded by the
// per-worker memory cap.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { CORES, SHARED, SLOW, SANITIZED, checkRow, rowsOf, runTimed, tmpDir } from './torture_common.mjs';

const HARD = path.join(SHARED, 'corpus', 'hard');
const TIMEOUT_MS = 5000;
const CONCURRENCY = 4;
const MAX_MEMORY_MB = 256;
const work = tmpDir('bpecg-hard-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

const files = fs.readdirSync(HARD).filter((f) => f.endsWith('.pdf')).sort();

// Workers hold at most MAX_MEMORY_MB each in MuPDF; add the program, the
// PDF bytes and the encoders. Sanitizers add shadow memory and quarantine.
const RSS_BOUND_KIB = (CONCURRENCY * MAX_MEMORY_MB + 400) * 1024 * (SANITIZED ? 4 : 1);
const WALL_BOUND_MS = (Math.ceil(files.length / Math.min(CORES, CONCURRENCY)) * (TIMEOUT_MS + 1000) + 30000) * SLOW;

function runHard(name, extraArgs) {
  const out = path.join(work, name);
  const res = runTimed(['run', '--source', HARD, '--dest', out, '--no-progress', ...extraArgs], {
    PDF_TIMEOUT_MS: String(TIMEOUT_MS),
    PDF_MAX_MEMORY_MB: String(MAX_MEMORY_MB),
    CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
  }, WALL_BOUND_MS + 60000);
  return { out, res };
}

test('the corpus has its 87 files', () => {
  assert.equal(files.length, 87);
});

for (const [name, args] of [
  ['default pages (text 1, crops 2)', []],
  ['crops on page 1', ['--crop-page', '1']],
]) {
  describe(`hard corpus, ${name}`, () => {
    const { out, res } = runHard(name.replace(/\W+/g, '_'), args);

    test('no crash, no hang, within the time bound', () => {
      assert.equal(res.signal, null, `killed by ${res.signal} after ${res.ms} ms (hang?)`);
      assert.equal(res.code, 1, res.stderr.slice(-2000)); // some PDFs fail
      assert.ok(res.ms <= WALL_BOUND_MS, `took ${res.ms} ms, bound ${WALL_BOUND_MS}`);
    });

    test('peak memory stays under the bound set by the memory cap', () => {
      assert.ok(res.rssKiB > 0, 'no RSS measured');
      assert.ok(res.rssKiB <= RSS_BOUND_KIB, `peak RSS ${res.rssKiB} KiB, bound ${RSS_BOUND_KIB}`);
    });

    test('one row per file, each keeping the row contract', async () => {
      const rows = await rowsOf(out);
      assert.deepEqual(rows.map((r) => r.source_key), files);
      for (const r of rows) checkRow(r, { budgetMs: (TIMEOUT_MS + 2000) * SLOW });
      const by = new Map(rows.map((r) => [r.source_key, r]));
      // Known natures (MANIFEST.tsv): typed outcomes, not guesses.
      assert.equal(by.get('pypdf_encryption-r6-user-password.pdf').error_type, 'encrypted');
      assert.equal(by.get('qpdf_encrypted-40-bit-R3.pdf').error_type, 'encrypted');
      assert.equal(by.get('qpdf_bad1.pdf').error_type, 'not_pdf');
      assert.ok(['too_complex', 'timeout'].includes(by.get('pdfjs_bomb_giant.pdf').error_type));
      assert.equal(by.get('pdfium_parser_rebuildxref_error_notrailer.pdf').repaired, true);
      assert.notEqual(by.get('pypdf_encryption-r2-empty-password.pdf').text, null);
      if (args.length) {
        // With page 1 cropped, every file with a usable first page renders
        // (44 of 87 with MuPDF 1.21: the rest are encrypted, have no pages
        // or a page too small for the default region).
        const rendered = rows.filter((r) => r.images_extracted === 1).length;
        assert.ok(rendered >= 40, `${rendered} files rendered`);
        assert.equal(by.get('pdfcpu_WaldenFull.pdf').status, 'success');
      }
    });
  });
}
