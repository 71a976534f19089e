// `preview` and `report` on s3:// URLs, against the S3 test fixture
// (s3rver behind a SigV4-verifying proxy): the same store API as `run`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { readPng } from './preview_png.mjs';
import { removeTempDir, runBin, startS3, tempDir } from './s3_fixture.mjs';

const BIN = path.join(process.env.BPECG_BUILD_DIR, 'bpecg-etl');
let s3;
let work;

before(async () => {
  work = tempDir('bpecg-report-s3-');
  execFileSync(BIN, ['samples', '--out', path.join(work, 'in'), '--count', '3', '--seed', '5', '--variants']);
  s3 = await startS3({ buckets: ['src', 'dst'] });
  for (const f of ['ecg_00000.pdf', 'ecg_00001.pdf', 'ecg_00002.pdf', 'variant_encrypted.pdf'])
    await s3.put('src', `pdfs/${f}`, fs.readFileSync(path.join(work, 'in', f)));
  const r = await runBin(BIN, ['run', '--source', 's3://src/pdfs/', '--dest', 's3://dst/run1/'], {
    env: s3.etlEnv({ LOG_LEVEL: 'error' }),
  });
  assert.equal(r.code, 1, r.stderr); // the encrypted one fails
});

after(async () => {
  await s3?.stop();
  if (work) removeTempDir(work);
});

describe('s3:// URLs', () => {
  test('preview reads the PDF from S3', async () => {
    const out = path.join(work, 'p.png');
    const r = await runBin(BIN, ['preview', 's3://src/pdfs/ecg_00001.pdf', '--dpi', '72', '-o', out], { env: s3.etlEnv() });
    assert.equal(r.code, 0, r.stderr);
    const img = readPng(fs.readFileSync(out));
    assert.equal(img.width, 792 + 2 * 48);
    assert.equal(img.at(48 + 100, 48 + 200), 0x1565c0); // region_0's left edge
    const missing = await runBin(BIN, ['preview', 's3://src/pdfs/nope.pdf', '-o', out], { env: s3.etlEnv() });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /nope\.pdf: not found/);
  });

  test('report writes report.html into the bucket, linking the crops', async () => {
    const r = await runBin(BIN, ['report', '--dest', 's3://dst/run1/'], { env: s3.etlEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /s3:\/\/dst\/run1\/report\.html: 4 PDFs from 1 batch file/);
    const page = await s3.get('dst', 'run1/report.html');
    assert.equal(page.contentType, 'text/html; charset=utf-8');
    const html = page.body.toString();
    // Relative to the page, which sits next to images/.
    assert.match(html, /"images\/ecg_00000\/region_0\.jpg"/);
    assert.match(html, /<td><code>encrypted<\/code><\/td><td class="n">1<\/td>/);
  });

  test('a local page over an S3 destination inlines the crops', async () => {
    const file = path.join(work, 'r.html');
    const r = await runBin(BIN, ['report', '--dest', 's3://dst/run1/', '-o', file], { env: s3.etlEnv() });
    assert.equal(r.code, 0, r.stderr);
    const html = fs.readFileSync(file, 'utf8');
    assert.equal((html.match(/data:image\/jpeg;base64,\/9j\//g) || []).length, 3);
    assert.doesNotMatch(html, /images\//);
  });
});
