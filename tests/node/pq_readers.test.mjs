// Files written by the C Parquet writer (src/pq, through tests/tools/pq_gen)
// read back by DuckDB, hyparquet and arrow-rs (parquet-wasm) with no
// options: the schema (names, physical and logical types, nullability),
// every value, the footer metadata and the statistics, for every codec.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  CODECS,
  CODEC_NAMES,
  arrowRows,
  arrowType,
  diffRows,
  diffStats,
  duckdb,
  duckdbSchema,
  duckdbType,
  expectedSchema,
  fileArrayBuffer,
  hyparquetSchema,
  parquetMetadata,
  pqGen,
  queryRows,
  readArrowTable,
  readDuckDB,
  readHyparquet,
  sqlString,
  tmpDir,
} from './pq_readers.mjs';

const TABLES = ['pipeline', 'types', 'multi_rg', 'nulls', 'empty'];

let dir;
let conn;
before(async () => {
  dir = tmpDir('pq_readers_');
  conn = await duckdb();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const codec of CODECS) {
  describe(`codec ${codec}`, () => {
    for (const name of TABLES) {
      describe(`table ${name}`, () => {
        let table;
        let file;
        before(() => {
          file = path.join(dir, `${name}_${codec}.parquet`);
          [table] = pqGen(['fixed', name, codec, file]);
        });

        test('DuckDB reads the schema, footer and every value', async () => {
          assert.deepEqual(await duckdbSchema(conn, file), expectedSchema(table.columns));
          const described = await queryRows(conn, `DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
          assert.deepEqual(
            described.map((r) => [r.column_name, r.column_type]),
            table.columns.map((c) => [c.name, duckdbType(c)]),
          );

          const [fm] = await queryRows(conn, `SELECT * FROM parquet_file_metadata(${sqlString(file)})`);
          assert.match(fm.created_by, /^bpecg-etl version \d+\.\d+\.\d+ \(build bpecg\)$/);
          assert.equal(fm.num_rows, BigInt(table.num_rows));
          assert.equal(fm.column_orders.length, table.columns.length);
          for (const o of fm.column_orders) assert.equal(o, 'ColumnOrder(TYPE_ORDER=TypeDefinedOrder())');

          const kv = await queryRows(conn, `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(file)})`);
          assert.deepEqual(Object.fromEntries(kv.map((r) => [r.k, r.v])), table.kv);

          const chunks = await queryRows(conn, `SELECT * FROM parquet_metadata(${sqlString(file)})`);
          for (const ch of chunks) assert.equal(ch.compression, CODEC_NAMES[codec], ch.path_in_schema);

          const diff = diffRows(table, await readDuckDB(conn, file, table.columns));
          assert.equal(diff, undefined, diff);
        });

        test('hyparquet reads the schema, footer, statistics and every value', async () => {
          const ab = fileArrayBuffer(file);
          const md = parquetMetadata(ab);
          assert.deepEqual(hyparquetSchema(md), expectedSchema(table.columns));
          assert.equal(md.num_rows, BigInt(table.num_rows));
          assert.match(md.created_by, /^bpecg-etl version \d+\.\d+\.\d+ \(build bpecg\)$/);
          const kv = Object.fromEntries((md.key_value_metadata ?? []).map((e) => [e.key, e.value]));
          assert.deepEqual(kv, table.kv);
          for (const rg of md.row_groups) {
            for (const ch of rg.columns) assert.equal(ch.meta_data.codec, CODEC_NAMES[codec]);
          }
          const sd = diffStats(table, md);
          assert.equal(sd, undefined, sd);
          const diff = diffRows(table, await readHyparquet(ab, table.columns));
          assert.equal(diff, undefined, diff);
        });

        test('arrow-rs (parquet-wasm) reads the schema and every value', () => {
          const t = readArrowTable(file);
          assert.deepEqual(
            t.schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
            table.columns.map((c) => [c.name, arrowType(c), c.optional]),
          );
          for (const [i, c] of table.columns.entries()) {
            // list elements are required: the item field is not nullable
            if (c.list) assert.equal(t.schema.fields[i].type.children[0].nullable, false, c.name);
          }
          assert.equal(t.numRows, table.num_rows);
          const diff = diffRows(table, arrowRows(t, table.columns));
          assert.equal(diff, undefined, diff);
        });
      });
    }
  });
}

describe('encodings', () => {
  test('pipeline: low-cardinality columns are dictionary-encoded', async () => {
    const file = path.join(dir, 'enc_pipeline.parquet');
    pqGen(['fixed', 'pipeline', 'zstd', file]);
    const rows = await queryRows(conn, `SELECT path_in_schema AS p, encodings AS e, dictionary_page_offset AS d, data_page_offset AS o FROM parquet_metadata(${sqlString(file)})`);
    const byCol = Object.fromEntries(rows.map((r) => [r.p, r]));
    for (const c of ['batch_id', 'status', 'error_type']) {
      assert.match(byCol[c].e, /RLE_DICTIONARY/, c);
      assert.ok(byCol[c].d !== null && byCol[c].d < byCol[c].o, `${c}: dictionary page before data pages`);
    }
    for (const c of ['file_id', 'text', 'processing_time_ms']) {
      assert.doesNotMatch(byCol[c].e, /DICTIONARY/, c);
      assert.equal(byCol[c].d, null, c);
    }
  });

  test('multi_rg: several row groups and pages; dictionary falls back to PLAIN when it grows', async () => {
    const file = path.join(dir, 'enc_multi.parquet');
    const [table] = pqGen(['fixed', 'multi_rg', 'snappy', file]);
    const rows = await queryRows(conn, `SELECT row_group_id AS g, path_in_schema AS p, encodings AS e, num_values AS n, total_uncompressed_size AS u FROM parquet_metadata(${sqlString(file)})`);
    const groups = new Set(rows.map((r) => r.g));
    assert.ok(groups.size >= 4, `row groups: ${groups.size}`);
    const grp = rows.filter((r) => r.p === 'grp');
    assert.ok(grp.some((r) => /RLE_DICTIONARY/.test(r.e)), 'some grp chunks use the dictionary');
    assert.ok(grp.some((r) => !/DICTIONARY/.test(r.e)), 'some grp chunks fell back to PLAIN');
    // pages of ~4 KiB: chunks hold several data pages (encoding_stats
    // counts them), and a filter DuckDB pushes down finds a row in the middle
    const md = parquetMetadata(fileArrayBuffer(file));
    const pages = md.row_groups.map((rg) => rg.columns[0].meta_data.encoding_stats
      .filter((s) => s.page_type === 'DATA_PAGE').reduce((n, s) => n + s.count, 0));
    assert.ok(pages.slice(0, -1).every((n) => n >= 2), `data pages per id chunk: ${pages}`);
    const mid = table.rows[Math.floor(table.rows.length * 0.7)];
    const hit = await queryRows(conn, `SELECT grp, payload FROM read_parquet(${sqlString(file)}) WHERE id = ${mid[0]}`);
    assert.deepEqual(hit, [{ grp: mid[1], payload: mid[2] }]);
    const counts = await queryRows(conn, `SELECT count(*) AS n FROM read_parquet(${sqlString(file)}) WHERE grp = 'g3'`);
    assert.equal(counts[0].n, BigInt(table.rows.filter((r) => r[1] === 'g3').length));
  });
});
