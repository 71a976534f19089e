// Shared pieces of the Lambda tests: the binary, sample PDFs in an S3
// fixture, the function's environment, and the results read back with
// DuckDB (an independent Parquet reader).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { DuckDBInstance } from '@duckdb/node-api';

import { baseEnv, tempDir } from './s3_fixture.mjs';

export const BUILD = process.env.BPECG_BUILD_DIR;
export const SOURCE = process.env.BPECG_SOURCE_DIR;
export const BIN = path.join(BUILD, 'bpecg-etl');

// Settings of ours that baseEnv() does not know to drop.
const OURS = /^(DEADLINE_MARGIN_MS|MAX_CHAIN_BATCHES|KILL_SWITCH_KEY|REDACT_|FIELD_PATTERNS_FILE|PDF_MAX_MEMORY_MB)/;
export function cleanEnv() {
  return Object.fromEntries(Object.entries(baseEnv()).filter(([k]) => !OURS.test(k)));
}

let samplesDir = null;
/** Directory of `count` sample PDFs (ecg_00000.pdf ...), made once. */
export function samples(count) {
  if (samplesDir && fs.readdirSync(samplesDir).length >= count) return samplesDir;
  samplesDir = tempDir('bpecg-lambda-samples-');
  execFileSync(BIN, ['samples', '--out', samplesDir, '--count', String(count), '--seed', '11'], {
    env: { ...cleanEnv(), LOG_LEVEL: 'warn' },
  });
  return samplesDir;
}

/** Upload the first `count` samples to bucket under prefix; returns the keys. */
export async function uploadSamples(s3, bucket, prefix, count) {
  const dir = samples(count);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pdf'))
    .sort()
    .slice(0, count);
  const entries = files.map((f) => [prefix + f, fs.readFileSync(path.join(dir, f))]);
  await s3.putMany(bucket, entries, 16);
  return entries.map(([k]) => k);
}

/** The function's environment on the S3 fixture. */
export function functionEnv(s3, extra = {}) {
  const env = s3.etlEnv();
  for (const k of Object.keys(env)) if (OURS.test(k)) delete env[k];
  return {
    ...env,
    SOURCE_BUCKET: 'src',
    PDF_PREFIX: 'pdfs/',
    DEST_BUCKET: 'dst',
    BATCH_SIZE: '40',
    CONCURRENCY: '4',
    // The emulator's default timeout is 60 s, the setting's default margin.
    DEADLINE_MARGIN_MS: '5000',
    RETRY_INITIAL_WAIT: '0.2',
    RETRY_MAX_WAIT: '2',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...extra,
  };
}

let db;
export async function query(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

/** Download every Parquet file under bucket/prefix (not below) and read all
 * rows with DuckDB; returns {rows, files}. */
export async function resultRows(s3, bucket, prefix) {
  const objs = (await s3.list(bucket, prefix)).filter((o) => /^[^/]*\.parquet$/.test(o.Key.slice(prefix.length)));
  const dir = tempDir('bpecg-lambda-results-');
  for (const o of objs) fs.writeFileSync(path.join(dir, path.basename(o.Key)), (await s3.get(bucket, o.Key)).body);
  const rows = objs.length
    ? await query(
        `SELECT batch_id, source_key, status, error_type, file_id, filename AS file FROM read_parquet('${dir}/*.parquet', filename=true) ORDER BY source_key`,
      )
    : [];
  return { rows, files: objs.map((o) => o.Key).sort() };
}

/** Every key exactly once: no gap, no duplicate. */
export function assertExactlyOnce(rows, keys, what) {
  const seen = new Map();
  for (const r of rows) seen.set(r.source_key, (seen.get(r.source_key) || 0) + 1);
  const dup = [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
  const missing = keys.filter((k) => !seen.has(k));
  const extra = [...seen.keys()].filter((k) => !keys.includes(k));
  assert.deepEqual({ dup, missing, extra }, { dup: [], missing: [], extra: [] }, `${what}: rows are not exactly one per PDF`);
  assert.equal(rows.length, keys.length);
}

/** The function's JSON log lines of every sandbox. */
export function logEvents(lam) {
  const out = [];
  for (const line of lam.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* not ours */
    }
  }
  return out;
}

// CloudFormation's short tags as their long forms (!Sub x -> {"Fn::Sub": x}),
// parsed by PyYAML (Debian's python3-yaml, which the AWS CLI depends on).
const CFN_YAML = `
import json, sys, yaml
class L(yaml.SafeLoader):
    pass
def tag(name):
    long = 'Ref' if name == 'Ref' else 'Fn::' + name
    def ctor(loader, node):
        if isinstance(node, yaml.ScalarNode):
            v = loader.construct_scalar(node)
            if name == 'GetAtt':
                v = v.split('.', 1)
        elif isinstance(node, yaml.SequenceNode):
            v = loader.construct_sequence(node, deep=True)
        else:
            v = loader.construct_mapping(node, deep=True)
        return {long: v}
    return ctor
for n in ['Ref', 'Sub', 'GetAtt', 'If', 'Not', 'Equals', 'And', 'Or', 'Join', 'Select', 'Split', 'FindInMap', 'ImportValue', 'Base64', 'Condition', 'GetAZs']:
    L.add_constructor('!' + n, tag(n))
print(json.dumps(yaml.load(open(sys.argv[1]), Loader=L)))
`;

/** deploy/template.yaml as JSON (CloudFormation tags in their long form). */
export function loadTemplate() {
  const out = execFileSync('python3', ['-c', CFN_YAML, path.join(SOURCE, 'deploy', 'template.yaml')]);
  return JSON.parse(out.toString());
}

/** Resolve Ref/Fn::Sub/Fn::If/Fn::GetAtt against parameter values (enough
 * for the policies). Conditions are evaluated from `conditions`. */
export function resolveCfn(node, params, conditions = {}) {
  const r = (n) => resolveCfn(n, params, conditions);
  if (Array.isArray(node)) return node.map(r).filter((x) => x !== NO_VALUE);
  if (node && typeof node === 'object') {
    if ('Ref' in node) return node.Ref === 'AWS::NoValue' ? NO_VALUE : params[node.Ref] ?? `<${node.Ref}>`;
    if ('Fn::Sub' in node) return String(node['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_, k) => params[k] ?? `<${k}>`);
    if ('Fn::GetAtt' in node) return params[node['Fn::GetAtt'].join('.')] ?? `<${node['Fn::GetAtt'].join('.')}>`;
    if ('Fn::If' in node) {
      const [cond, a, b] = node['Fn::If'];
      return r(conditions[cond] ? a : b);
    }
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      const x = r(v);
      if (x !== NO_VALUE) out[k] = x;
    }
    return out;
  }
  return node;
}
export const NO_VALUE = Symbol('AWS::NoValue');

/** Does an IAM resource pattern (with * and ?) match arn? */
export function arnMatches(pattern, arn) {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(arn);
}
