// Shared by the tests of what a hostile source, destination or endpoint
// does to a run (hostile_*.test.mjs): running bpecg-etl, building small
// PDFs by hand, and reading results with two independent readers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export const BUILD = process.env.BPECG_BUILD_DIR;
export const BIN = path.join(BUILD, 'bpecg-etl');

// Sanitizer builds run several times slower: time bounds scale.
export const SLOW = (() => {
  const b = fs.readFileSync(BIN);
  return b.includes('__asan_init') || b.includes('__tsan_init') ? 4 : 1;
})();

// Settings from the caller's environment must not leak into these runs.
export const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      !/^(BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|REDACT_|FIELD_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|DEBUG_PAYLOADS|AWS_|EXTRACT_WAVEFORMS|WAVEFORM_|FAIL_BATCH_ON|ALLOW_HTTP|METADATA_PREFIX|KILL_SWITCH)/.test(k),
  ),
);

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', prefix));
}

// bpecg-etl with args and env (on top of a clean environment, LOG_LEVEL
// warn, JSON logs), killed after limitMs.
export function run(args, env = {}, limitMs = 120000) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(BIN, args, {
    env: { ...cleanEnv, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: limitMs,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms };
}

// The same without blocking the event loop (a server in this process must
// answer it).
export function runAsync(args, env = {}, limitMs = 120000) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(BIN, args, {
      env: { ...cleanEnv, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), limitMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
  });
}

export function samples(dir, count, seed = 1) {
  const r = spawnSync(BIN, ['samples', '--out', dir, '--count', String(count), '--seed', String(seed)], {
    env: cleanEnv,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

// A one-page PDF whose page content stream is content (PDF syntax).
export function makePdf(content) {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ' +
      '/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offs = [];
  objs.forEach((o, i) => {
    offs.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const x = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const o of offs) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${x}\n%%EOF\n`;
  return Buffer.from(out);
}

// Every row of a results file, read by hyparquet (int64 as BigInt).
export async function hyRows(file) {
  const b = fs.readFileSync(file);
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return parquetReadObjects({ file: ab, compressors });
}

// The footer's key-value metadata of a Parquet file, as an object.
export function footerKv(file) {
  const b = fs.readFileSync(file);
  const md = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Object.fromEntries((md.key_value_metadata || []).map((e) => [e.key, e.value]));
}

let db;
export async function duck(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

// Rows of every results file under dest/metadata, read by DuckDB.
export async function duckRows(dest, prefix = 'metadata/') {
  const dir = path.join(dest, prefix);
  if (!fs.existsSync(dir) || !fs.readdirSync(dir).some((f) => f.endsWith('.parquet'))) return [];
  return duck(
    `SELECT file_id, source_key, status, error_type, error, image_keys, images_extracted ` +
      `FROM read_parquet('${dir.replace(/'/g, "''")}*.parquet') ORDER BY source_key`,
  );
}

// JSON log lines of a run's stderr.
export function logLines(stderr) {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

// Every file under dir (relative paths), recursively, without following
// symlinks.
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

// README's file_id rule, written again from its text (an independent
// oracle for the C one): rel is the key relative to the source prefix,
// as a Buffer or a string.
export function fileIdOf(rel) {
  const k = Buffer.isBuffer(rel) ? rel : Buffer.from(rel);
  const n = k.length;
  const tail = k.subarray(n - 4).toString('latin1');
  const pdf = n >= 4 && tail.toLowerCase() === '.pdf';
  const keep = pdf && (tail !== '.pdf' || n === 4 || k[n - 5] === 0x2f);
  const stem = pdf && !keep ? n - 4 : n;
  const esc = (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0');
  let out = '';
  let seg = 0;
  for (let i = 0; i < stem; ) {
    const c = k[i];
    const dotSeg =
      c === 0x2e &&
      i === seg &&
      (i + 1 === stem || k[i + 1] === 0x2f || (k[i + 1] === 0x2e && (i + 2 === stem || k[i + 2] === 0x2f)));
    if (c === 0x2f) {
      out += i === seg ? esc(c) : '/';
      seg = ++i;
    } else if (dotSeg) {
      const dots = i + 1 < stem && k[i + 1] === 0x2e ? 2 : 1;
      out += esc(0x2e).repeat(dots);
      i += dots;
    } else if (keep && i === n - 4) {
      out += esc(0x2e);
      i++;
    } else if (c === 0x25 || c === 0x5c || c < 0x20 || c === 0x7f) {
      out += esc(c);
      i++;
    } else if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
    } else {
      const len = utf8Len(k, i, stem);
      if (len === 0 || (c === 0xc2 && k[i + 1] < 0xa0)) {
        out += esc(c) + (len ? esc(k[i + 1]) : '');
        i += len || 1;
      } else {
        out += k.subarray(i, i + len).toString('utf8');
        i += len;
      }
    }
  }
  return out;
}

// Length of the valid UTF-8 sequence at b[i] (before end), or 0.
function utf8Len(b, i, end) {
  const c = b[i];
  let n;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > end || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let j = 2; j < n; j++) if ((b[i + j] & 0xc0) !== 0x80) return 0;
  return n;
}
