// The S3 test fixture: a real S3-compatible server (s3rver 3.7.1) behind a
// SigV4-verifying proxy (s3_verify.mjs) behind a fault-injecting proxy
// (s3_faults.mjs), all on 127.0.0.1 on free ports:
//
//   bpecg-etl -> faultEndpoint -> endpoint (verifier) -> s3rverEndpoint
//
// Independent clients (the JS SDK, Debian's AWS CLI) talk to `endpoint`.
//
//   const s3 = await startS3({ buckets: ['src', 'dst'] });
//   after(() => s3.stop());
//
// s3rver runs in a child process (node --openssl-legacy-provider), in its
// own process group, in a temporary directory. It is stopped by stop(), by
// this process's exit and SIGINT/SIGTERM handlers, and, if this process is
// killed outright, by itself when its stdin pipe closes: no orphans. Child
// processes started with runBin() are killed the same way.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';

import { startFaultProxy } from './s3_faults.mjs';
import { startVerifier } from './s3_verify.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const AWS_CLI = '/usr/bin/aws'; // Debian's; another aws may be first in PATH
export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';
export const REGION = 'us-east-1';
export const OWNER = '123456789012';

// The SDK warns on every client that Node 20 support ends in 2027.
process.env.AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING = '1';
const emitWarning = process.emitWarning;
process.emitWarning = function (w, ...rest) {
  if (String(w && w.message ? w.message : w).includes('NodeVersionSupportWarning')) return;
  if (rest[0] && (rest[0] === 'NodeVersionSupportWarning' || rest[0].type === 'NodeVersionSupportWarning')) return;
  return emitWarning.call(process, w, ...rest);
};

// ---- cleanup of everything this process started ----

const children = new Set(); // ChildProcess, each the leader of its group
const tempDirs = new Set();

function killGroup(child, signal = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function cleanupSync() {
  for (const c of children) killGroup(c);
  children.clear();
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanupSync();
    process.kill(process.pid, sig);
  });
}

export function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}
export function removeTempDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

/**
 * Run a program without blocking the event loop (the proxies run in this
 * process). Resolves to {code, signal, stdout, stderr, ms}.
 */
export function runBin(file, args, { env = process.env, timeoutMs = 120000, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(file, args, { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - t0,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

// The environment without anything AWS- or bpecg-etl-related from the
// caller, so runs do not depend on the machine (AWS_PROFILE, a real
// ~/.aws, settings left in the shell).
export function baseEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(AWS_|BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|RETRY_|S3_|PARQUET_|METADATA_|EXTRACT_WAVEFORMS|WAVEFORM_|PAPER_SPEED|GAIN_MM|REDACT_|FIELD_PATTERNS|HTTP_PROXY|HTTPS_PROXY|ALL_PROXY|NO_PROXY)/i.test(
          k,
        ),
    ),
  );
}

async function startS3rver(dir, buckets) {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', path.join(HERE, 's3_s3rver_main.mjs'), dir, ...buckets],
    { detached: true, stdio: ['pipe', 'pipe', 'pipe'], cwd: HERE },
  );
  children.add(child);
  const errs = [];
  child.stderr.on('data', (c) => errs.push(c));
  const lines = readline.createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('s3rver did not start within 30 s')), 30000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(l).port);
      } catch (e) {
        reject(e);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}): ${Buffer.concat(errs).toString()}`));
    });
  });
  return { child, port };
}

/**
 * Start s3rver, the verifying proxy and the fault proxy.
 * @param {object} [o]
 * @param {string[]} [o.buckets] buckets to create
 * @param {Record<string, string|{secret: string, token?: string}>} [o.credentials]
 *        more access keys the verifier accepts (S3RVER/S3RVER always works)
 * @param {object} [o.faults] initial fault proxy settings (mode, rate, kinds, seed, stallMs)
 */
export async function startS3({ buckets = [], credentials = {}, faults = {} } = {}) {
  const dir = tempDir('bpecg-s3rver-');
  const { child, port } = await startS3rver(dir, buckets);
  const s3rverEndpoint = `http://127.0.0.1:${port}`;
  const verifier = await startVerifier({
    upstream: s3rverEndpoint,
    credentials: { [ACCESS_KEY]: SECRET_KEY, ...credentials },
    region: REGION,
    owner: OWNER,
  });
  const faultProxy = await startFaultProxy({ upstream: verifier.endpoint, mode: 'pass', ...faults });
  const clients = [];

  // AWS CLI configuration: path-style addressing for a custom endpoint.
  const cliDir = path.join(dir, '.aws-cli');
  fs.mkdirSync(cliDir);
  fs.writeFileSync(
    path.join(cliDir, 'config'),
    `[default]\nregion = ${REGION}\ns3 =\n    addressing_style = path\n`,
  );

  const fx = {
    endpoint: verifier.endpoint,
    faultEndpoint: faultProxy.endpoint,
    s3rverEndpoint,
    s3rverPid: child.pid,
    dir,
    region: REGION,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    owner: OWNER,
    verifier,
    faults: faultProxy,

    /** A JS SDK client (path style) on the verifying proxy unless told. */
    client({ endpoint = verifier.endpoint, accessKeyId = ACCESS_KEY, secretAccessKey = SECRET_KEY, sessionToken, ...rest } = {}) {
      const c = new S3Client({
        endpoint,
        forcePathStyle: true,
        region: REGION,
        credentials: { accessKeyId, secretAccessKey, sessionToken },
        maxAttempts: 1,
        ...rest,
      });
      clients.push(c);
      return c;
    },

    async createBucket(name) {
      await fx.sdk.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body, extra = {}) {
      return fx.sdk.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
    },
    /** Upload many objects, `parallel` at a time: [[key, body], ...]. */
    async putMany(bucket, entries, parallel = 16) {
      let i = 0;
      const worker = async () => {
        while (i < entries.length) {
          const [k, b] = entries[i++];
          await fx.put(bucket, k, b);
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
    },
    async get(bucket, key) {
      const r = await fx.sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { body: Buffer.from(await r.Body.transformToByteArray()), contentType: r.ContentType, etag: r.ETag };
    },
    async head(bucket, key) {
      return fx.sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    },
    /** Every object under prefix, following continuation tokens. */
    async list(bucket, prefix = '', { pageSize } = {}) {
      const out = [];
      const pages = paginateListObjectsV2(
        { client: fx.sdk, ...(pageSize ? { pageSize } : {}) },
        { Bucket: bucket, Prefix: prefix },
      );
      for await (const p of pages) for (const o of p.Contents || []) out.push(o);
      return out;
    },

    /** Environment for bpecg-etl: through the fault proxy, no other AWS config. */
    etlEnv(extra = {}) {
      return {
        ...baseEnv(),
        HOME: dir,
        AWS_ENDPOINT_URL_S3: faultProxy.endpoint,
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
        LOG_LEVEL: 'warn',
        ...extra,
      };
    },

    /** Run Debian's AWS CLI against the verifying proxy. */
    aws(args, { env = {}, endpoint = verifier.endpoint, timeoutMs = 120000 } = {}) {
      return runBin(AWS_CLI, ['--endpoint-url', endpoint, ...args], {
        timeoutMs,
        env: {
          ...baseEnv(),
          HOME: cliDir,
          AWS_ACCESS_KEY_ID: ACCESS_KEY,
          AWS_SECRET_ACCESS_KEY: SECRET_KEY,
          AWS_DEFAULT_REGION: REGION,
          AWS_CONFIG_FILE: path.join(cliDir, 'config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(cliDir, 'credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_PAGER: '',
          ...env,
        },
      });
    },

    async stop() {
      for (const c of clients) c.destroy();
      await faultProxy.stop();
      await verifier.stop();
      child.stdin.end();
      await new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        const t = setTimeout(() => {
          killGroup(child);
          r();
        }, 3000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
      killGroup(child); // anything it left in its group
      children.delete(child);
      removeTempDir(dir);
    },
  };
  fx.sdk = fx.client();
  return fx;
}
