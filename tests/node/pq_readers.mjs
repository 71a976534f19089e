// Shared by the pq_*.test.mjs reader tests: runs tests/tools/pq_gen, decodes
// what it says a file holds, reads files with three independent Parquet
// readers (DuckDB, hyparquet, arrow-rs via parquet-wasm) and compares.
//
// Values are normalised to one form before comparing: BOOLEAN -> boolean,
// INT32 -> number, INT64 and TIMESTAMP_MS -> BigInt (milliseconds), FLOAT and
// DOUBLE -> number (compared with Object.is, so -0 and NaN count), STRING ->
// string, lists -> arrays, null -> null.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const require = createRequire(import.meta.url);
const parquetWasm = require('parquet-wasm/node');

export const CODECS = ['zstd', 'snappy', 'none'];
export const CODEC_NAMES = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' };

export function buildDir() {
  const dir = process.env.BPECG_BUILD_DIR;
  if (!dir) throw new Error('BPECG_BUILD_DIR is not set (run through ctest)');
  return dir;
}

export function pqGenPath() {
  for (const p of [path.join(buildDir(), 'tests', 'pq_gen'), path.join(buildDir(), 'pq_gen')]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`pq_gen not found under ${buildDir()}`);
}

// Run pq_gen; returns its stdout parsed as JSON lines.
export function pqGen(args) {
  const out = execFileSync(pqGenPath(), args, { maxBuffer: 1 << 30 }).toString();
  return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', prefix));
}

// ---- expected values ----

const f32 = new DataView(new ArrayBuffer(8));

function decodeScalar(type, v) {
  switch (type) {
    case 'INT64':
    case 'TIMESTAMP_MS':
      return BigInt(v);
    case 'FLOAT':
      f32.setUint32(0, parseInt(v, 16));
      return f32.getFloat32(0);
    case 'DOUBLE':
      f32.setBigUint64(0, BigInt('0x' + v));
      return f32.getFloat64(0);
    default:
      return v;
  }
}

// Expected rows as arrays of normalised values, in column order.
//
// bomStripped: the reader decodes strings with TextDecoder's defaults, which
// drop a leading U+FEFF (hyparquet, apache-arrow and @duckdb/node-api all
// do); expect strings without it. The bytes in the file keep it: DuckDB's
// values are compared as bytes (readDuckDB).
export function expectedRows(table, { bomStripped = false } = {}) {
  const dec = (type, x) => {
    const v = decodeScalar(type, x);
    return bomStripped && type === 'STRING' && v.startsWith('\ufeff') ? v.slice(1) : v;
  };
  return table.rows.map((row) =>
    row.map((v, i) => {
      const c = table.columns[i];
      if (v === null) return null;
      return c.list ? v.map((x) => dec(c.type, x)) : dec(c.type, v);
    }),
  );
}

// ---- comparison ----

function sameScalar(type, a, b) {
  if (a === null || b === null) return a === b;
  if (type === 'FLOAT' || type === 'DOUBLE') {
    return typeof b === 'number' && (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)));
  }
  return typeof a === typeof b && a === b;
}

function sameValue(col, a, b) {
  if (a === null || b === null) return a === b;
  if (!col.list) return sameScalar(col.type, a, b);
  if (!Array.isArray(b) || a.length !== b.length) return false;
  return a.every((x, i) => sameScalar(col.type, x, b[i]));
}

export function show(v) {
  return JSON.stringify(v, (k, x) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (Object.is(x, -0)) return '-0';
    return x;
  });
}

// Undefined when equal, else a description of the first difference.
export function diffRows(table, got, opts) {
  const want = expectedRows(table, opts);
  if (got.length !== want.length) return `row count: want ${want.length}, got ${got.length}`;
  for (let r = 0; r < want.length; r++) {
    for (let c = 0; c < table.columns.length; c++) {
      const col = table.columns[c];
      if (!sameValue(col, want[r][c], got[r][c])) {
        const w = show(want[r][c]);
        const g = show(got[r][c]);
        return `row ${r} column ${col.name} (${col.type}${col.list ? '[]' : ''}): ` +
          `want ${w.slice(0, 300)}, got ${g.slice(0, 300)}`;
      }
    }
  }
  return undefined;
}

// ---- DuckDB ----

export async function duckdb() {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  return instance.connect();
}

export function sqlString(s) {
  return `'${s.replaceAll("'", "''")}'`;
}

export function ident(s) {
  return `"${s.replaceAll('"', '""')}"`;
}

export async function queryRows(conn, sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}

// Rows in file order; timestamps as epoch milliseconds (BIGINT), strings
// fetched as their bytes (encode()) and decoded here, so that every byte DuckDB
// read is compared (the binding's own string decoding drops a leading BOM).
export async function readDuckDB(conn, file, columns) {
  const sel = columns.map((c) => {
    const q = ident(c.name);
    const f = { TIMESTAMP_MS: 'epoch_ms', STRING: 'encode' }[c.type];
    if (!f) return q;
    return c.list ? `list_transform(${q}, x -> ${f}(x))` : `${f}(${q})`;
  });
  const reader = await conn.runAndReadAll(
    `SELECT ${sel.join(', ')} FROM read_parquet(${sqlString(file)}, file_row_number = true) ` +
      'ORDER BY file_row_number',
  );
  const text = (b) => (b === null ? null : Buffer.from(b).toString('utf8'));
  return reader.getRowsJS().map((row) =>
    row.map((v, i) => {
      const c = columns[i];
      if (c.type !== 'STRING' || v === null) return v;
      return c.list ? v.map(text) : text(v);
    }),
  );
}

const DUCKDB_TYPES = {
  BOOLEAN: 'BOOLEAN',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  STRING: 'VARCHAR',
  TIMESTAMP_MS: 'TIMESTAMP WITH TIME ZONE',
};

export function duckdbType(c) {
  return DUCKDB_TYPES[c.type] + (c.list ? '[]' : '');
}

// ---- the Parquet schema every reader should see ----

const PHYSICAL = {
  BOOLEAN: 'BOOLEAN',
  INT32: 'INT32',
  INT64: 'INT64',
  FLOAT: 'FLOAT',
  DOUBLE: 'DOUBLE',
  STRING: 'BYTE_ARRAY',
  TIMESTAMP_MS: 'INT64',
};

// Flattened SchemaElements: {name, type, repetition_type, num_children,
// converted_type, logical} with logical one of STRING, TIMESTAMP, LIST, null.
export function expectedSchema(columns) {
  const out = [{ name: 'schema', type: null, repetition_type: null, num_children: columns.length, converted_type: null, logical: null }];
  for (const c of columns) {
    const leaf = {
      type: PHYSICAL[c.type],
      num_children: null,
      converted_type: c.type === 'STRING' ? 'UTF8' : c.type === 'TIMESTAMP_MS' ? 'TIMESTAMP_MILLIS' : null,
      logical: c.type === 'STRING' ? 'STRING' : c.type === 'TIMESTAMP_MS' ? 'TIMESTAMP' : null,
    };
    const rep = c.optional ? 'OPTIONAL' : 'REQUIRED';
    if (c.list) {
      out.push({ name: c.name, type: null, repetition_type: rep, num_children: 1, converted_type: 'LIST', logical: 'LIST' });
      out.push({ name: 'list', type: null, repetition_type: 'REPEATED', num_children: 1, converted_type: null, logical: null });
      out.push({ name: 'element', repetition_type: 'REQUIRED', ...leaf });
    } else {
      out.push({ name: c.name, repetition_type: rep, ...leaf });
    }
  }
  return out;
}

// DuckDB's parquet_schema() rows in the same shape.
export async function duckdbSchema(conn, file) {
  const rows = await queryRows(conn, `SELECT * FROM parquet_schema(${sqlString(file)})`);
  return rows.map((r) => {
    let logical = null;
    if (r.logical_type === 'StringType()') logical = 'STRING';
    else if (r.logical_type === 'ListType()') logical = 'LIST';
    else if (/^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=MilliSeconds\(\)/.test(r.logical_type ?? '')) logical = 'TIMESTAMP';
    else if (r.logical_type !== null) logical = `unexpected ${r.logical_type}`;
    return {
      name: r.name,
      type: r.type,
      repetition_type: r.repetition_type,
      num_children: r.num_children === null ? null : Number(r.num_children),
      converted_type: r.converted_type,
      logical,
    };
  });
}

// ---- hyparquet ----

export function fileArrayBuffer(file) {
  const b = fs.readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

function hyScalar(type, v) {
  if (v === null || v === undefined) return null;
  if (type === 'TIMESTAMP_MS' && v instanceof Date) return BigInt(v.getTime());
  return v;
}

export async function readHyparquet(ab, columns, opts = {}) {
  const rows = await parquetReadObjects({ file: ab, compressors, ...opts });
  return rows.map((r) =>
    columns.map((c) => {
      const v = r[c.name];
      if (v === null || v === undefined) return null;
      return c.list ? Array.from(v, (x) => hyScalar(c.type, x)) : hyScalar(c.type, v);
    }),
  );
}

export function hyparquetSchema(md) {
  return md.schema.map((e) => {
    let logical = null;
    const lt = e.logical_type;
    if (lt?.type === 'STRING') logical = 'STRING';
    else if (lt?.type === 'LIST') logical = 'LIST';
    else if (lt?.type === 'TIMESTAMP' && lt.isAdjustedToUTC === true && lt.unit === 'MILLIS') logical = 'TIMESTAMP';
    else if (lt) logical = `unexpected ${JSON.stringify(lt)}`;
    return {
      name: e.name,
      type: e.type ?? null,
      repetition_type: e.repetition_type ?? null,
      num_children: e.num_children ?? null,
      converted_type: e.converted_type ?? null,
      logical,
    };
  });
}

export { parquetMetadata };

// ---- arrow-rs (parquet-wasm) ----

export function readArrowTable(file, options) {
  const wasmTable = parquetWasm.readParquet(new Uint8Array(fs.readFileSync(file)), options);
  return tableFromIPC(wasmTable.intoIPCStream());
}

function arrowScalar(type, v) {
  if (v === null || v === undefined) return null;
  if (type === 'TIMESTAMP_MS') return BigInt(v);
  return v;
}

export function arrowRows(table, columns) {
  const vecs = columns.map((c) => table.getChild(c.name));
  const out = [];
  for (let r = 0; r < table.numRows; r++) {
    out.push(
      columns.map((c, i) => {
        const v = vecs[i].get(r);
        if (v === null || v === undefined) return null;
        return c.list ? Array.from(v, (x) => arrowScalar(c.type, x)) : arrowScalar(c.type, v);
      }),
    );
  }
  return out;
}

const ARROW_TYPES = {
  BOOLEAN: 'Bool',
  INT32: 'Int32',
  INT64: 'Int64',
  FLOAT: 'Float32',
  DOUBLE: 'Float64',
  STRING: 'Utf8',
  TIMESTAMP_MS: 'Timestamp<MILLISECOND, UTC>',
};

export function arrowType(c) {
  return c.list ? `List<${ARROW_TYPES[c.type]}>` : ARROW_TYPES[c.type];
}

// ---- statistics ----

function utf8Cmp(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// The statistics the writer promises for each column chunk, computed from
// the expected rows: null_count (nulls and empty lists), min/max in the
// column order (NaN ignored; a zero min is -0, a zero max +0; strings
// bytewise, none when longer than 256 bytes), nan_count for floats.
export function expectedStats(col, values) {
  let nulls = 0n;
  let nans = 0n;
  const items = [];
  for (const v of values) {
    if (v === null || (col.list && v.length === 0)) {
      nulls++;
      continue;
    }
    for (const x of col.list ? v : [v]) {
      if ((col.type === 'FLOAT' || col.type === 'DOUBLE') && Number.isNaN(x)) nans++;
      else items.push(x);
    }
  }
  let min;
  let max;
  for (const x of items) {
    const lt = (a, b) => (col.type === 'STRING' ? utf8Cmp(a, b) < 0 : a < b);
    if (min === undefined || lt(x, min)) min = x;
    if (max === undefined || lt(max, x)) max = x;
  }
  if (col.type === 'FLOAT' || col.type === 'DOUBLE') {
    if (min === 0) min = -0;
    if (max === 0) max = 0;
  }
  if (col.type === 'BOOLEAN' && min !== undefined) {
    min = Boolean(min);
    max = Boolean(max);
  }
  if (col.type === 'STRING' && min !== undefined &&
      (Buffer.byteLength(min) > 256 || Buffer.byteLength(max) > 256)) {
    min = undefined;
    max = undefined;
  }
  return { null_count: nulls, nan_count: nans, min, max };
}

function statScalar(type, v) {
  if (v === undefined || v === null) return undefined;
  if (type === 'TIMESTAMP_MS' && v instanceof Date) return BigInt(v.getTime());
  if (type === 'INT64' || type === 'TIMESTAMP_MS') return BigInt(v);
  return v;
}

// Compare every column chunk's statistics as hyparquet decodes them with
// expectedStats over the rows of its row group. Undefined when all match.
export function diffStats(table, md, { bomStripped = false } = {}) {
  const want = expectedRows(table);
  const strip = (v) => (bomStripped && typeof v === 'string' && v.startsWith('\ufeff') ? v.slice(1) : v);
  let first = 0;
  for (const [g, rg] of md.row_groups.entries()) {
    const n = Number(rg.num_rows);
    for (const [c, col] of table.columns.entries()) {
      const meta = rg.columns[c].meta_data;
      const s = meta.statistics ?? {};
      const e = expectedStats(col, want.slice(first, first + n).map((row) => row[c]));
      e.min = strip(e.min);
      e.max = strip(e.max);
      const got = { null_count: s.null_count, min: statScalar(col.type, s.min_value), max: statScalar(col.type, s.max_value) };
      const ok = got.null_count === e.null_count &&
        (e.min === undefined ? got.min === undefined : sameScalar(col.type, e.min, got.min)) &&
        (e.max === undefined ? got.max === undefined : sameScalar(col.type, e.max, got.max));
      if (!ok) {
        return `row group ${g} column ${col.name}: want ${show({ null_count: e.null_count, min: e.min, max: e.max })}` +
          `, got ${show(got)}`;
      }
    }
    first += n;
  }
  return undefined;
}
