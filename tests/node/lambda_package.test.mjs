// `make lambda-package`: dist/function.zip with `bootstrap` and every
// non-glibc shared library it needs (rpath $ORIGIN/lib), nothing needing a
// glibc newer than Amazon Linux 2023's 2.34 (the check is shown to catch
// Debian's own libexpat), MuPDF static, and the unpacked package running
// a chain on the Lambda emulator against S3.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startLambdaEmulator } from './lambda_emulator.mjs';
import { SOURCE, assertExactlyOnce, cleanEnv, functionEnv, resultRows, uploadSamples } from './lambda_helpers.mjs';
import { startS3, tempDir } from './s3_fixture.mjs';

const GLIBC_LIBS = /^(ld-linux.*|libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl)\.so/;
let work, zip, pkg, make;

before(() => {
  work = tempDir('bpecg-lambda-pkg-');
  zip = path.join(work, 'function.zip');
  make = spawnSync('make', ['-C', SOURCE, 'lambda-package', `BUILD=${path.join(work, 'build')}`, `LAMBDA_ZIP=${zip}`, 'JOBS=2'], {
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 1500000,
  });
  if (make.status === 0) {
    pkg = path.join(work, 'pkg');
    execFileSync('unzip', ['-q', zip, '-d', pkg]);
  }
});

function elfFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (fs.readFileSync(p).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) out.push(p);
    }
  };
  walk(dir);
  return out;
}

// Every GLIBC_x.y a file needs, by our own reading of objdump.
function glibcVersions(file) {
  const text = execFileSync('objdump', ['-T', '-p', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return [...new Set(text.match(/GLIBC_\d+(\.\d+)+/g) || [])];
}
const vnum = (v) => v.replace('GLIBC_', '').split('.').map(Number);
const newer = (v, than) => {
  const [a, b] = [vnum(v), vnum(than)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
  return false;
};

describe('make lambda-package', () => {
  test('builds the zip and reports the glibc check', () => {
    assert.equal(make.status, 0, `${make.stdout}\n${make.stderr}`);
    assert.match(make.stdout, /wrote .*function\.zip \(\d+ KiB\): bootstrap \+ \d+ libraries; newest glibc symbol GLIBC_2\.\d+ \(limit GLIBC_2\.34\)/);
    // Lambda's limit for a zip uploaded directly.
    assert.ok(fs.statSync(zip).size < 50 * 1024 * 1024, `${fs.statSync(zip).size} bytes`);
  });

  test('holds bootstrap and the non-glibc libraries, no glibc library', () => {
    const top = fs.readdirSync(pkg).sort();
    assert.deepEqual(top, ['bootstrap', 'lib']);
    assert.ok(fs.statSync(path.join(pkg, 'bootstrap')).mode & 0o111, 'bootstrap is executable');
    const libs = fs.readdirSync(path.join(pkg, 'lib'));
    for (const want of ['libcurl.so.4', 'libcrypto.so.3', 'libssl.so.3', 'libzstd.so.1', 'libjansson.so.4', 'libturbojpeg.so.0', 'libfreetype.so.6'])
      assert.ok(libs.includes(want), `lib/${want}`);
    assert.deepEqual(libs.filter((l) => GLIBC_LIBS.test(l)), []);
    // Linked statically for the glibc limit (see scripts/lambda-package).
    for (const gone of ['libexpat.so.1', 'libstdc++.so.6', 'libgcc_s.so.1', 'libsnappy.so.1']) assert.ok(!libs.includes(gone), `${gone} is not shipped`);
  });

  test('nothing in it needs a glibc symbol newer than 2.34', () => {
    const files = elfFiles(pkg);
    assert.ok(files.length > 10);
    const bad = [];
    for (const f of files) for (const v of glibcVersions(f)) if (newer(v, 'GLIBC_2.34')) bad.push(`${path.relative(pkg, f)}: ${v}`);
    assert.deepEqual(bad, []);
  });

  test('the glibc check passes it, and fails a package with a library that needs 2.36', () => {
    const script = path.join(SOURCE, 'scripts', 'lambda-package');
    let r = spawnSync(script, ['--check', zip], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /glibc check passed/);
    // Debian 12's libexpat needs arc4random_buf@GLIBC_2.36.
    const bad = path.join(work, 'bad');
    fs.cpSync(pkg, bad, { recursive: true });
    fs.copyFileSync('/lib/x86_64-linux-gnu/libexpat.so.1', path.join(bad, 'lib', 'libexpat.so.1'));
    r = spawnSync(script, ['--check', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /lib\/libexpat\.so\.1 needs GLIBC_2\.36 \(arc4random_buf\), newer than 2\.34/);
    assert.match(r.stderr, /glibc check FAILED/);
  });

  test('bootstrap finds its libraries through rpath $ORIGIN/lib; MuPDF is inside it', () => {
    const boot = path.join(pkg, 'bootstrap');
    const dyn = execFileSync('readelf', ['-d', boot], { encoding: 'utf8' });
    assert.match(dyn, /\(RPATH\)\s+Library rpath: \[\$ORIGIN\/lib\]/);
    assert.doesNotMatch(dyn, /mupdf/i);
    const ldd = execFileSync('ldd', [boot], { encoding: 'utf8', env: cleanEnv() });
    const outside = ldd
      .split('\n')
      .map((l) => /^\s*(\S+) => (\S+)/.exec(l))
      .filter((m) => m && !GLIBC_LIBS.test(m[1]) && !m[2].startsWith(path.join(pkg, 'lib') + '/'));
    assert.deepEqual(outside.map((m) => `${m[1]} -> ${m[2]}`), []);
    const undef = execFileSync('nm', ['-D', '--undefined-only', boot], { encoding: 'utf8' });
    assert.doesNotMatch(undef, /\bfz_|\bpdf_load/);
  });

  describe('the unpacked package runs a chain on the emulator', () => {
    let s3;
    after(async () => {
      await s3?.stop();
    });
    test('every PDF exactly once, Snappy-compressed results', async () => {
      s3 = await startS3({ buckets: ['src', 'dst'] });
      const keys = await uploadSamples(s3, 'src', 'pdfs/', 12);
      const lam = await startLambdaEmulator({
        bin: path.join(pkg, 'bootstrap'),
        env: functionEnv(s3, { BATCH_SIZE: '5', PARQUET_COMPRESSION: 'snappy' }),
        credentials: { [s3.accessKeyId]: s3.secretAccessKey },
      });
      try {
        await lam.invoke({}, { type: 'Event' });
        await lam.idle(300000);
      } finally {
        await lam.stop();
      }
      const res = lam.invocations.map((i) => i.response);
      assert.deepEqual(res.map((r) => r?.pdfs), [5, 5, 2], lam.logs());
      const ready = lam.logs().split('\n').find((l) => l.includes('lambda_runtime_ready'));
      assert.match(ready, /"glibc_compat":true/);
      const { rows } = await resultRows(s3, 'dst', 'metadata/');
      assertExactlyOnce(rows, keys, 'packaged bootstrap');
      assert.ok(rows.every((r) => r.status === 'success'));
    });
  });
});
