// A destination that breaks under the run (items 2 and 10 of issue 15):
// a full disk (a real 2 MB tmpfs), a read-only file system, a file where
// the crops' folder must be, a crop that cannot be written, and results
// files that another key range must never replace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { duckRows, footerKv, logLines, run, samples, tmpDir } from './hostile_common.mjs';

const work = tmpDir('bpecg-dest-');
const mounts = [];
after(() => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  fs.rmSync(work, { recursive: true, force: true });
});

const IN = path.join(work, 'in');
before(() => samples(IN, 100, 9));

// Four regions: 400 JPEGs at 200 dpi, more than 2 MB.
const FOUR = JSON.stringify({
  unit: 'pt',
  regions: [0, 1, 2, 3].map((i) => ({ name: `r${i}`, x0: 20, y0: 20 + 140 * i, x1: 590, y1: 150 + 140 * i })),
});

// mount(8) a tmpfs of size at dir; null (with the reason) where mounting
// is impossible (not root, no CAP_SYS_ADMIN).
function tmpfs(dir, size, ro = false) {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
  mounts.push(dir);
  if (ro) {
    fs.mkdirSync(path.join(dir, 'out'));
    const rr = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
    if (rr.status !== 0) return `remount,ro failed: ${rr.stderr.trim()}`;
  }
  return null;
}

function processed(stderr) {
  return logLines(stderr).filter((l) => l.event === 'pdf_processed').length;
}

describe('a broken destination stops the run (exit 3)', () => {
  test('a full disk: a real 2 MB tmpfs, 400 crops at 200 dpi', async (t) => {
    const dest = path.join(work, 'full');
    const why = tmpfs(dest, '2m');
    if (why) return t.skip(`cannot mount a tmpfs here (${why})`);
    const r = run(['run', '--source', IN, '--dest', dest, '--image-dpi', '200', '--concurrency', '4'], {
      CROP_REGIONS: FOUR,
      LOG_LEVEL: 'info',
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /batch 0 failed: the destination cannot be written: 3 PDFs in a row could not write their outputs/);
    assert.match(r.stderr, /no space left/i);
    assert.match(r.stderr, /rerun it with --batch-id 0/);
    // It stopped after the first few failures instead of grinding on.
    assert.ok(processed(r.stderr) < 40, `${processed(r.stderr)} PDFs processed`);
    assert.ok(logLines(r.stderr).some((l) => l.event === 'destination_broken'));
    // Nothing was committed: a rerun with room redoes the whole batch.
    assert.ok(!fs.existsSync(path.join(dest, 'metadata', 'batch_000000.parquet')));
  });

  test('a read-only file system', async (t) => {
    const mnt = path.join(work, 'ro');
    const why = tmpfs(mnt, '4m', true);
    if (why) return t.skip(`cannot mount a read-only tmpfs here (${why})`);
    const dest = path.join(mnt, 'out');
    const r = run(['run', '--source', IN, '--dest', dest, '--concurrency', '4'], { LOG_LEVEL: 'info' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /read-only file system/i);
    assert.ok(processed(r.stderr) < 40, `${processed(r.stderr)} PDFs processed`);
  });

  test('a file where the crops folder must be (ENOTDIR on the prefix)', () => {
    const dest = path.join(work, 'notdir');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'images'), 'in the way');
    const r = run(['run', '--source', IN, '--dest', dest, '--concurrency', '4'], { LOG_LEVEL: 'info' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /not a folder/);
    assert.ok(processed(r.stderr) < 40, `${processed(r.stderr)} PDFs processed`);
  });
});

describe('one output that cannot be written (exit 1)', () => {
  test("that PDF's row is failed with file_put, the others are not", async () => {
    const dest = path.join(work, 'one');
    fs.mkdirSync(path.join(dest, 'images'), { recursive: true });
    // ecg_00003's crops folder is a file.
    fs.writeFileSync(path.join(dest, 'images', 'ecg_00003'), 'in the way');
    const r = run(['run', '--source', IN, '--dest', dest, '--max-batches', '1', '--batch-size', '10']);
    assert.equal(r.code, 1, r.stderr);
    const rows = await duckRows(dest);
    assert.equal(rows.length, 10);
    const bad = rows.find((x) => x.source_key === 'ecg_00003.pdf');
    assert.equal(bad.status, 'failed');
    assert.equal(bad.error_type, 'file_put');
    assert.match(bad.error, /writing images\/ecg_00003\/region_0\.jpg/);
    assert.equal(rows.filter((x) => x.status === 'success').length, 9);
  });
});

describe('results files are never replaced by another key range (item 10)', () => {
  const dest = path.join(work, 'ranges');
  before(() => {
    const r = run(['run', '--source', IN, '--dest', dest, '--batch-size', '20', '--max-batches', '3']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('the footer records each batch key range', () => {
    const kv = footerKv(path.join(dest, 'metadata', 'batch_000001.parquet'));
    assert.equal(kv['bpecg.first_key'], 'ecg_00020.pdf');
    assert.equal(kv['bpecg.last_key'], 'ecg_00039.pdf');
  });

  test('--start-after without --batch-id is refused (exit 2), naming the batch id to use', async () => {
    const before0 = fs.readFileSync(path.join(dest, 'metadata', 'batch_000000.parquet'));
    const r = run(['run', '--source', IN, '--dest', dest, '--batch-size', '20', '--start-after', 'ecg_00010.pdf']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /batch_000000\.parquet already holds the results of another key range/);
    assert.match(r.stderr, /use --batch-id 3/);
    assert.deepEqual(fs.readFileSync(path.join(dest, 'metadata', 'batch_000000.parquet')), before0);
    assert.equal((await duckRows(dest)).length, 60);
  });

  test('the suggested batch id works, and rerunning a batch (same range) rewrites it', async () => {
    let r = run(['run', '--source', IN, '--dest', dest, '--batch-size', '20', '--start-after', 'ecg_00059.pdf', '--batch-id', '3', '--max-batches', '1']);
    assert.equal(r.code, 0, r.stderr);
    r = run(['run', '--source', IN, '--dest', dest, '--batch-size', '20', '--start-after', 'ecg_00019.pdf', '--batch-id', '1', '--max-batches', '1']);
    assert.equal(r.code, 0, r.stderr);
    const rows = await duckRows(dest);
    assert.equal(rows.length, 80);
    assert.equal(new Set(rows.map((x) => x.source_key)).size, 80);
  });
});
