// Property test: random tables (random schemas; 0, 1 or many rows; nulls,
// empty strings and lists, long lists and strings, multi-byte UTF-8, extreme
// integers, NaN, infinities, -0.0, subnormals; random codecs, row-group,
// page and dictionary sizes) written by the C writer must read back exactly
// in DuckDB; and in hyparquet, with the statistics the writer promises, and
// in arrow-rs.
//
//   PQ_SEED=<n>   replay a run (the seed is printed, and named on failure)
//   PQ_CASES=<n>  tables per run (default 400)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import {
  arrowRows,
  diffRows,
  diffStats,
  duckdb,
  fileArrayBuffer,
  parquetMetadata,
  pqGen,
  readArrowTable,
  readDuckDB,
  readHyparquet,
  tmpDir,
} from './pq_readers.mjs';

const SEED = process.env.PQ_SEED ?? String(crypto.randomInt(1, 2 ** 47));
const CASES = Number(process.env.PQ_CASES ?? 400);
const BATCH = 100;
const MAX_REPORTED = 5;

// One pass over the run: every table goes through every reader; failures
// are collected per reader and asserted by the tests below.
const failures = { duckdb: [], others: [] };
const ms = { generate: 0, duckdb: 0, hyparquet: 0, arrow: 0 };
let checked = 0;
let rows = 0;
let dir;

async function timed(key, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    ms[key] += performance.now() - t0;
  }
}

async function check(list, table, fn) {
  if (list.length >= MAX_REPORTED) return;
  let why;
  try {
    why = await fn();
  } catch (e) {
    why = `read failed: ${e.message}`;
  }
  if (why) {
    list.push(`${table.name} (codec ${table.codec}, ${table.num_rows} rows, ` +
      `columns ${JSON.stringify(table.columns)}): ${why}`);
  }
}

before(async () => {
  dir = tmpDir('pq_property_');
  const conn = await duckdb();
  for (let start = 0; start < CASES; start += BATCH) {
    // each batch of tables has its own seed, derived from the run's
    const batchSeed = String(BigInt(SEED) * 1000n + BigInt(start / BATCH));
    const count = String(Math.min(BATCH, CASES - start));
    const tables = await timed('generate', () => pqGen(['random', batchSeed, count, dir]));
    for (const table of tables) {
      await check(failures.duckdb, table, () => timed('duckdb', async () =>
        diffRows(table, await readDuckDB(conn, table.file, table.columns))));
      // hyparquet, apache-arrow: see expectedRows() on a leading BOM
      const opts = { bomStripped: true };
      await check(failures.others, table, () => timed('hyparquet', async () => {
        const ab = fileArrayBuffer(table.file);
        const md = parquetMetadata(ab);
        if (md.num_rows !== BigInt(table.num_rows)) return `hyparquet: num_rows ${md.num_rows}`;
        const stats = diffStats(table, md, opts);
        if (stats) return `hyparquet statistics: ${stats}`;
        const hy = diffRows(table, await readHyparquet(ab, table.columns), opts);
        return hy && `hyparquet: ${hy}`;
      }));
      await check(failures.others, table, () => timed('arrow', () => {
        const ar = diffRows(table, arrowRows(readArrowTable(table.file), table.columns), opts);
        return ar && `arrow-rs: ${ar}`;
      }));
      checked++;
      rows += table.num_rows;
      fs.rmSync(table.file, { force: true });
    }
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function report(list) {
  return `seed ${SEED}: ${list.length} failing tables (rerun with PQ_SEED=${SEED}; ` +
    'one table alone: pq_gen random <seed> <table + 1> DIR with the seed and table ' +
    'of its name)\n' + list.join('\n');
}

test(`random tables round-trip through DuckDB exactly (seed ${SEED})`, (t) => {
  t.diagnostic(`seed ${SEED}: ${checked} tables, ${rows} rows; ms ${JSON.stringify(ms, (k, v) => (typeof v === 'number' ? Math.round(v) : v))}`);
  assert.equal(checked, CASES);
  assert.equal(failures.duckdb.length, 0, report(failures.duckdb));
});

test(`random tables read by hyparquet (values, statistics) and arrow-rs (seed ${SEED})`, () => {
  assert.equal(failures.others.length, 0, report(failures.others));
});
