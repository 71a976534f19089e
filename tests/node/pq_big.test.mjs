// A file of 1,000,000 rows (about 270 MB of raw values) written by the C
// writer with 4 MiB row groups: the writer's peak RSS must stay far below
// the raw size (memory bounded by the row group, not the file), and DuckDB,
// hyparquet and arrow-rs must read it back: row count, aggregates, and rows
// checked value by value against the generator's formula.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  duckdb,
  fileArrayBuffer,
  parquetMetadata,
  pqGen,
  pqGenPath,
  queryRows,
  readArrowTable,
  sqlString,
  tmpDir,
} from './pq_readers.mjs';

const N = 1_000_000;
const STATUS = ['success', 'partial', 'failed'];

// The row pq_gen's `big` table holds at index i (see cmd_big in pq_gen.c).
function bigRow(i) {
  let text = `row ${i} `;
  for (let n = text.length; n < 200; n++) text += String.fromCharCode(97 + ((i + n) % 26));
  const tags = [];
  for (let k = 0; k < i % 4; k++) tags.push(`t${i}_${k}`);
  return {
    id: BigInt(i),
    status: STATUS[i % 3],
    text,
    tags,
    score: i % 10 === 9 ? null : i * 0.5,
    at: BigInt(1700000000000 + i),
  };
}

let dir;
let file;
let info;
before(() => {
  dir = tmpDir('pq_big_');
  file = path.join(dir, 'big.parquet');
  [info] = pqGen(['big', String(N), 'zstd', file]);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('writer memory is bounded by the row group, not the file', (t) => {
  const mib = (b) => (b / 1048576).toFixed(1);
  const rss = info.maxrss_kb * 1024;
  t.diagnostic(`raw ${mib(info.raw_bytes)} MiB, file ${mib(info.file_bytes)} MiB, ` +
    `peak RSS ${mib(rss)} MiB, row groups of ${mib(info.row_group_bytes)} MiB`);
  assert.equal(info.rows, N);
  assert.ok(info.raw_bytes > 250e6, `raw size ${info.raw_bytes}`);
  // A sanitizer build carries shadow memory and a quarantine of freed
  // blocks: allow it three times the budget (still far below the file).
  const slack = fs.readFileSync(pqGenPath()).includes('__asan_init') ? 3 : 1;
  assert.ok(rss * 10 < info.raw_bytes * slack, `peak RSS ${mib(rss)} MiB is not far below the raw ${mib(info.raw_bytes)} MiB`);
  assert.ok(rss < 6 * info.row_group_bytes * slack, `peak RSS ${mib(rss)} MiB for ${mib(info.row_group_bytes)} MiB row groups`);
});

test('DuckDB reads all 1,000,000 rows', async () => {
  const conn = await duckdb();
  const src = `read_parquet(${sqlString(file)})`;
  const [agg] = await queryRows(conn,
    `SELECT count(*) AS n, sum(id) AS ids, count(score) AS scores, sum(len(tags)) AS tags, ` +
    `sum(length(text)) AS chars, count(DISTINCT status) AS statuses, ` +
    `min(epoch_ms("at")) AS at0, max(epoch_ms("at")) AS at1 FROM ${src}`);
  assert.deepEqual(agg, {
    n: BigInt(N),
    ids: BigInt(N) * BigInt(N - 1) / 2n,
    scores: BigInt(N - N / 10),
    tags: BigInt(1.5 * N),
    chars: BigInt(200 * N),
    statuses: 3n,
    at0: 1700000000000n,
    at1: BigInt(1700000000000 + N - 1),
  });
  const groups = await queryRows(conn, `SELECT count(DISTINCT row_group_id) AS g FROM parquet_metadata(${sqlString(file)})`);
  assert.ok(groups[0].g >= 10n, `row groups: ${groups[0].g}`);
  const ids = [0, 1, 2, 3, 9, 123457, 499999, 500000, 999998, 999999];
  const rows = await queryRows(conn,
    `SELECT id, status, text, tags, score, epoch_ms("at") AS at FROM ${src} WHERE id IN (${ids.join(',')}) ORDER BY id`);
  assert.deepEqual(rows, ids.map(bigRow));
});

test('hyparquet reads the metadata and the last rows', async () => {
  const ab = fileArrayBuffer(file);
  const md = parquetMetadata(ab);
  assert.equal(md.num_rows, BigInt(N));
  assert.ok(md.row_groups.length >= 10);
  const { parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const got = await parquetReadObjects({ file: ab, compressors, rowStart: N - 20, rowEnd: N });
  const want = [];
  for (let i = N - 20; i < N; i++) want.push(bigRow(i));
  assert.deepEqual(got.map((r) => ({ ...r, at: BigInt(r.at.getTime()) })), want);
});

test('arrow-rs reads the last row group completely', () => {
  const md = parquetMetadata(fileArrayBuffer(file));
  const last = md.row_groups.length - 1;
  const first = md.row_groups.slice(0, last).reduce((s, rg) => s + Number(rg.num_rows), 0);
  const t = readArrowTable(file, { rowGroups: [last] });
  assert.equal(first + t.numRows, N);
  const cols = ['id', 'status', 'text', 'tags', 'score', 'at'].map((c) => t.getChild(c));
  for (let r = 0; r < t.numRows; r++) {
    const [id, status, text, tags, score, at] = cols.map((v) => v.get(r));
    const got = { id, status, text, tags: tags === null ? null : Array.from(tags), score, at: BigInt(at) };
    assert.deepEqual(got, bigRow(first + r));
  }
});
