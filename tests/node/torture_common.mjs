// Shared by the torture tests: run `bpecg-etl run` under /usr/bin/time
// with a hard wall-clock limit, and read the results back with DuckDB.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DuckDBInstance } from '@duckdb/node-api';

export const BUILD = process.env.BPECG_BUILD_DIR;
export const SHARED = process.env.BPECG_SHARED_DIR;
export const BIN = path.join(BUILD, 'bpecg-etl');

// Sanitizer builds run several times slower and need several times the
// memory (shadow, quarantine): their bounds are scaled, not dropped.
export const SANITIZED = (() => {
  const b = fs.readFileSync(BIN);
  return b.includes('__asan_init') || b.includes('__tsan_init');
})();
export const SLOW = SANITIZED ? 4 : 1;

// Cores the CPU-heavy work may use (the pipeline bounds it the same way).
export const CORES = Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);

// Settings from the caller's environment must not leak into these runs.
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      !/^(BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|REDACT_|FIELD_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|DEBUG_PAYLOADS|AWS_LAMBDA_LOG)/.test(k),
  ),
);

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', prefix));
}

// Run bpecg-etl with args and env; killed after limitMs. Returns the exit
// code, the signal (SIGKILL = it hung), stdout, stderr, the wall time and
// the peak RSS in KiB.
export function runTimed(args, env, limitMs) {
  const rssFile = path.join(tmpDir('bpecg-rss-'), 'rss');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, BIN, ...args], {
    env: { ...cleanEnv, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: limitMs,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rssKiB = NaN;
  try {
    rssKiB = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  } catch {
    // killed before /usr/bin/time wrote it
  }
  fs.rmSync(path.dirname(rssFile), { recursive: true, force: true });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms, rssKiB };
}

let db;
export async function query(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

export async function rowsOf(dest) {
  return query(`SELECT * FROM read_parquet('${dest}/metadata/*.parquet') ORDER BY source_key`);
}

const STATUSES = new Set(['success', 'partial', 'failed']);

// The contract of every row, whatever the PDF: a known status, an
// error_type and message exactly when something went wrong, images
// consistent with the status, and a time within the PDF budget.
export function checkRow(r, { crops = 1, budgetMs }) {
  const key = r.source_key;
  assert.ok(STATUSES.has(r.status), `${key}: status ${r.status}`);
  assert.equal(r.images_extracted, r.image_keys.length, key);
  assert.ok(r.images_extracted <= crops, key);
  if (r.status === 'success') {
    assert.equal(r.error_type, null, `${key}: ${r.error}`);
    assert.equal(r.images_extracted, crops, key);
  } else {
    assert.match(r.error_type ?? '', /^[a-z_0-9]+$/, `${key}: error_type ${r.error_type}`);
    assert.ok(r.error && r.error.length > 0, `${key}: no error message`);
  }
  if (r.status === 'failed') assert.equal(r.images_extracted, 0, key);
  if (r.page_count !== null) assert.ok(r.page_count >= 0, key);
  assert.ok(r.processing_time_ms >= 0 && r.processing_time_ms <= budgetMs, `${key} took ${r.processing_time_ms} ms (budget ${budgetMs})`);
}

// Every line of a JSON log is one JSON object.
export function logLines(stderr) {
  return stderr
    .split('\n')
    .filter((l) => l.length)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        assert.fail(`log line is not JSON: ${l.slice(0, 200)}`);
      }
      return null;
    });
}
