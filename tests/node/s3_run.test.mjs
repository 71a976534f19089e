// End to end on S3: samples uploaded with Debian's AWS CLI and the JS SDK
// to s3rver (behind the SigV4-verifying proxy and the fault proxy, see
// s3_fixture.mjs); `bpecg-etl run --source s3://... --dest s3://...`; every
// image and Parquet file read back with the JS SDK, an independent client,
// and compared with a local-directory run of the same PDFs. Then: awkward
// keys, listings past 1000 keys, resuming with --start-after, refused
// signatures, SSE and bucket-owner headers, injected faults (retried to the
// same outputs), stalls, and credentials from shared files, a container
// endpoint (with refresh) and IMDSv2 served on 127.0.0.1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DuckDBInstance } from '@duckdb/node-api';

import { baseEnv, runBin, startS3, tempDir } from './s3_fixture.mjs';
import { fileIdOf } from './hostile_common.mjs';

const BUILD = process.env.BPECG_BUILD_DIR;
const BIN = path.join(BUILD || '', 'bpecg-etl');
const work = tempDir('bpecg-s3run-');

// Temporary credentials the verifier accepts, each only with its token.
const TEMP_CREDS = {
  ASIAPROFILEKEY: { secret: 'profile-secret-3f9a', token: 'profile-token-77c1' },
  ASIACONTAINER1: { secret: 'container-secret-1-b2e4', token: 'container-token-1-9d0e' },
  ASIACONTAINER2: { secret: 'container-secret-2-c6a7', token: 'container-token-2-1f3b' },
  ASIAIMDSROLEKEY: { secret: 'imds-secret-5e8d', token: 'imds-token-value-4a2c' },
};

let s3;
// One root hook: node 20 did not always wait for a first root before()
// to finish before starting a second one, which then found no s3.
before(async () => {
  assert.ok(BUILD && fs.existsSync(BIN), `no bpecg-etl under BPECG_BUILD_DIR=${BUILD}`);
  s3 = await startS3({
    buckets: ['src', 'dst', 'again', 'seed-out', 'keys', 'keys-out', 'many', 'many-out', 'resume-out', 'auth-out', 'sse-out', 'clean-out', 'faults-out', 'slow-out', 'big-out', 'creds-out'],
    credentials: Object.fromEntries(Object.entries(TEMP_CREDS).map(([id, c]) => [id, { secret: c.secret, token: c.token }])),
  });
  await prepareSamples();
});
after(async () => {
  if (s3) await s3.stop();
});

// bpecg-etl against the fault proxy (pass-through unless a test says).
function etl(args, env = {}, timeoutMs = 180000) {
  return runBin(BIN, args, { env: s3.etlEnv(env), timeoutMs });
}
// bpecg-etl on local directories, for reference outputs.
function etlLocal(args, env = {}) {
  return runBin(BIN, args, { env: { ...baseEnv(), LOG_LEVEL: 'warn', ...env } });
}

let db;
async function query(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}
const sqlStr = (s) => `'${s.replace(/'/g, "''")}'`;
async function rowsOfFiles(files) {
  const rows = await query(`SELECT * FROM read_parquet([${files.map(sqlStr).join(', ')}]) ORDER BY source_key`);
  return rows;
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort(byteOrder);
}
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

// Rows without the columns that depend on the clock, or on the store
// (source_etag: S3's MD5 ETag vs the local "<size>-<mtime>").
function stable(rows, { keepEtag = false } = {}) {
  return rows.map(({ processing_time_ms, processed_at, source_etag, ...r }) => {
    assert.ok(processing_time_ms >= 0);
    assert.ok(processed_at instanceof Date || typeof processed_at === 'object');
    if (keepEtag) r.source_etag = source_etag;
    return JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  });
}

// Everything bpecg-etl wrote to an S3 destination, read with the SDK:
// {images: Map(key -> Buffer), contentTypes, parquet: [local files], rows}.
async function readS3Outputs(bucket, label) {
  const objs = await s3.list(bucket);
  const images = new Map();
  const contentTypes = new Map();
  const parquet = [];
  const dir = path.join(work, 'download', label);
  fs.mkdirSync(dir, { recursive: true });
  for (const o of objs) {
    const g = await s3.get(bucket, o.Key);
    assert.equal(g.body.length, o.Size, `${o.Key}: size in listing vs bytes read`);
    contentTypes.set(o.Key, g.contentType);
    if (o.Key.startsWith('images/')) images.set(o.Key, g.body);
    else if (o.Key.startsWith('metadata/')) {
      const f = path.join(dir, o.Key.replace(/\//g, '_'));
      fs.writeFileSync(f, g.body);
      parquet.push({ key: o.Key, file: f });
    } else assert.fail(`unexpected object ${o.Key} in ${bucket}`);
  }
  const rows = parquet.length ? await rowsOfFiles(parquet.map((p) => p.file)) : [];
  return { keys: objs.map((o) => o.Key), images, contentTypes, parquet, rows };
}

function localOutputs(dir) {
  const images = new Map();
  for (const f of listFiles(path.join(dir, 'images'))) {
    images.set(`images/${f}`, fs.readFileSync(path.join(dir, 'images', f)));
  }
  const parquet = listFiles(path.join(dir, 'metadata')).map((f) => path.join(dir, 'metadata', f));
  return { images, parquet };
}

function assertSameImages(got, want, what) {
  assert.deepEqual([...got.keys()].sort(byteOrder), [...want.keys()].sort(byteOrder), `${what}: image keys`);
  for (const [k, b] of want) assert.ok(got.get(k).equals(b), `${what}: ${k} differs`);
  return want.size;
}

// One row per listed PDF, no duplicates.
function assertOneRowEach(rows, keys, what) {
  assert.deepEqual(rows.map((r) => r.source_key), [...keys].sort(byteOrder), `${what}: source keys`);
}

// JSON log lines of a run.
function events(stderr, name) {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === name);
}

// ---- the samples: 12 reports and the hostile variants, under pdfs/ ----

const ROOT = path.join(work, 'root'); // ROOT/pdfs/*.pdf, like the bucket
const PDFS = path.join(ROOT, 'pdfs');
let pdfKeys; // 'pdfs/x.pdf', byte order
let local; // outputs of the local run

async function prepareSamples() {
  let r = await etlLocal(['samples', '--out', PDFS, '--count', '12', '--seed', '3', '--variants']);
  assert.equal(r.code, 0, r.stderr);
  fs.writeFileSync(path.join(PDFS, 'notes.txt'), 'not a pdf, not listed\n');
  fs.copyFileSync(path.join(PDFS, 'ecg_00000.pdf'), path.join(PDFS, 'UPPER.PDF'));
  pdfKeys = fs
    .readdirSync(PDFS)
    .filter((f) => /\.pdf$/i.test(f))
    .map((f) => `pdfs/${f}`)
    .sort(byteOrder);
  assert.equal(pdfKeys.length, 21);

  // The reference: the same tree as a local "bucket", listed under pdfs/
  // with the seed's variables, so source_key is "pdfs/x.pdf" as on S3.
  const out = path.join(work, 'local-out');
  r = await etlLocal(['run'], { SOURCE_BUCKET: ROOT, DEST_BUCKET: out });
  assert.equal(r.code, 1, r.stderr); // the failed variants
  local = localOutputs(out);
  local.rows = await rowsOfFiles(local.parquet);
  assertOneRowEach(local.rows, pdfKeys, 'local run');

  // Upload with Debian's AWS CLI.
  r = await s3.aws(['s3', 'cp', '--recursive', '--only-show-errors', PDFS, 's3://src/pdfs/']);
  assert.equal(r.code, 0, r.stderr);
}

describe('run from s3://src/pdfs/ to s3://dst/', () => {
  let res, out, reqs, conns;
  const CONCURRENCY = 4;
  before(async () => {
    s3.faults.setMode('pass');
    s3.faults.reset();
    s3.verifier.clearLog();
    res = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://dst/'], { CONCURRENCY: String(CONCURRENCY) });
    ({ requests: reqs, connections: conns } = s3.faults.stats());
    out = await readS3Outputs('dst', 'dst');
  });

  test('exits 1 (failed variants) with the same summary as the local run', () => {
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /^21 PDFs in 1 batches: 17 success, 1 partial, 3 failed/m);
    assert.match(res.stdout, /results: s3:\/\/dst\/metadata\//);
    assert.match(res.stdout, /images: +s3:\/\/dst\/images\//);
  });

  test('every request was signed right and accepted', () => {
    const refused = s3.verifier.log.filter((e) => e.code);
    assert.deepEqual(refused.map((e) => `${e.method} ${e.rawPath} ${e.code}`), []);
  });

  test('the images are the local run\'s, byte for byte, as image/jpeg', () => {
    assert.equal(assertSameImages(out.images, local.images, 's3 vs local'), 17);
    for (const k of out.images.keys()) assert.equal(out.contentTypes.get(k), 'image/jpeg', k);
  });

  test('one Parquet file whose rows equal the local run\'s', () => {
    assert.deepEqual(out.parquet.map((p) => p.key), ['metadata/batch_000000.parquet']);
    assert.equal(out.contentTypes.get('metadata/batch_000000.parquet'), 'application/vnd.apache.parquet');
    assertOneRowEach(out.rows, pdfKeys, 's3 run');
    assert.deepEqual(stable(out.rows), stable(local.rows));
  });

  test('source_etag is the S3 object\'s ETag; sha256 and size match the bytes', async () => {
    for (const r of out.rows) {
      const h = await s3.head('src', r.source_key);
      assert.equal(r.source_etag.replace(/"/g, ''), h.ETag.replace(/"/g, ''), r.source_key);
      assert.equal(r.size_bytes, BigInt(h.ContentLength), r.source_key);
    }
  });

  test('connections are kept alive and shared: no more than CONCURRENCY', (t) => {
    t.diagnostic(`${reqs} requests (${(reqs / pdfKeys.length).toFixed(2)} per PDF) on ${conns} connections`);
    // 21 GETs, 17 image PUTs, 1 Parquet PUT, at least 1 listing.
    assert.ok(reqs >= 40, `${reqs} requests`);
    assert.ok(conns <= CONCURRENCY, `${conns} TCP connections for ${reqs} requests`);
  });

  test('re-running into the same bucket rewrites the same bytes, one row per PDF', async () => {
    const r2 = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://dst/']);
    assert.equal(r2.code, 1, r2.stderr);
    const again = await readS3Outputs('dst', 'dst-again');
    assert.equal(assertSameImages(again.images, out.images, 'rerun'), 17);
    assert.deepEqual(again.parquet.map((p) => p.key), ['metadata/batch_000000.parquet']);
    assert.deepEqual(stable(again.rows, { keepEtag: true }), stable(out.rows, { keepEtag: true }));
  });

  test('the seed\'s variables: SOURCE_BUCKET/DEST_BUCKET bucket names, PDF_PREFIX', async () => {
    const r = await etl(['run'], { SOURCE_BUCKET: 'src', DEST_BUCKET: 'seed-out', PDF_PREFIX: 'pdfs/' });
    assert.equal(r.code, 1, r.stderr);
    const seed = await readS3Outputs('seed-out', 'seed');
    assertSameImages(seed.images, local.images, 'seed variables');
    assert.deepEqual(stable(seed.rows), stable(local.rows));
  });

  test('MAX_PDF_BYTES: larger PDFs get too_large rows, as locally', async () => {
    const size = fs.statSync(path.join(PDFS, 'variant_many_pages.pdf')).size;
    const cap = String(Math.max(1024, size - 1));
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://big-out/'], { MAX_PDF_BYTES: cap });
    assert.equal(r.code, 1, r.stderr);
    const lo = path.join(work, 'local-big');
    assert.equal((await etlLocal(['run'], { SOURCE_BUCKET: ROOT, DEST_BUCKET: lo, MAX_PDF_BYTES: cap })).code, 1);
    const big = await readS3Outputs('big-out', 'big');
    const want = await rowsOfFiles(localOutputs(lo).parquet);
    const tooLarge = big.rows.filter((x) => x.error_type === 'too_large').map((x) => x.source_key);
    assert.ok(tooLarge.includes('pdfs/variant_many_pages.pdf'), JSON.stringify(tooLarge));
    assert.deepEqual(stable(big.rows), stable(want));
  });
});

// Keys that need encoding in URLs, in signatures and in XML.
const HARD = [
  'pdfs/a b/c+d=e&f%g/é ü/x.pdf',
  'pdfs/plus+sign.pdf',
  'pdfs/eq=amp&semi;.pdf',
  'pdfs/pct%41%2F.pdf',
  "pdfs/quote'paren(1)!*.pdf",
  'pdfs/tilde~dollar$comma,at@colon:.pdf',
  'pdfs/lt<gt>"dq".pdf',
  'pdfs/d1/d2/d3/d4/d5/d6/d7/d8/deep.pdf',
  'pdfs/ünï cödé 日本 😀.pdf',
  'pdfs/trailing space .pdf',
  'pdfs/semi;hash#query?.pdf',
];

describe('keys with spaces, + = & %, unicode and deep prefixes', () => {
  let res, out, want;
  before(async () => {
    const kroot = path.join(work, 'keys-root');
    const pdf = fs.readFileSync(path.join(PDFS, 'ecg_00001.pdf'));
    for (const k of HARD) {
      fs.mkdirSync(path.dirname(path.join(kroot, k)), { recursive: true });
      fs.writeFileSync(path.join(kroot, k), pdf);
    }
    await s3.putMany('keys', HARD.map((k) => [k, pdf]));
    const lo = path.join(work, 'keys-local');
    const r = await etlLocal(['run'], { SOURCE_BUCKET: kroot, DEST_BUCKET: lo });
    assert.equal(r.code, 0, r.stderr);
    want = { ...localOutputs(lo) };
    want.rows = await rowsOfFiles(want.parquet);
    s3.verifier.clearLog();
    res = await etl(['run', '--source', 's3://keys/pdfs/', '--dest', 's3://keys-out/']);
    out = await readS3Outputs('keys-out', 'keys');
  });

  test('every key gets a success row and its image', () => {
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      s3.verifier.log.filter((e) => e.code).map((e) => `${e.method} ${e.rawPath} ${e.code}`),
      [],
    );
    assertOneRowEach(out.rows, HARD, 'hard keys');
    for (const r of out.rows) {
      assert.equal(r.status, 'success', r.source_key);
      // README's rule: '%' escaped, the rest kept, ".pdf" dropped.
      assert.equal(r.file_id, fileIdOf(r.source_key.slice('pdfs/'.length)));
      assert.deepEqual(r.image_keys, [`images/${r.file_id}/region_0.jpg`]);
      assert.ok(out.images.has(r.image_keys[0]), `missing ${r.image_keys[0]}`);
    }
  });

  test('images and rows equal a local run of the same tree', () => {
    assertSameImages(out.images, want.images, 'hard keys');
    assert.deepEqual(stable(out.rows), stable(want.rows));
  });
});

describe('listings of more than 1000 keys, and small batches with start-after', () => {
  const pdfs = [];
  before(async () => {
    const pdf = fs.readFileSync(path.join(PDFS, 'ecg_00002.pdf'));
    const entries = [];
    // 1,020 objects that are not PDFs, with PDFs among and after them, so
    // the PDFs are spread over the first and second page of 1000.
    for (let i = 0; i < 1020; i++) entries.push([`pdfs/k/${String(i).padStart(4, '0')}.txt`, Buffer.from(`${i}\n`)]);
    for (const n of ['0000a', '0500a', '0999a', '1000a', '1019a']) pdfs.push(`pdfs/k/${n}.pdf`);
    for (let i = 0; i < 25; i++) pdfs.push(`pdfs/z/${String(i).padStart(2, '0')}.pdf`);
    pdfs.push('pdfs/z/UPPER.PDF');
    for (const k of pdfs) entries.push([k, pdf]);
    await s3.putMany('many', entries);
    pdfs.sort(byteOrder);
  });

  test('default batches: every PDF once, in listing order', async () => {
    const r = await etl(['run', '--source', 's3://many/pdfs/', '--dest', 's3://many-out/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^31 PDFs in 1 batches: 31 success/m);
    const out = await readS3Outputs('many-out', 'many');
    assertOneRowEach(out.rows, pdfs, 'many');
    assert.equal(out.images.size, 31);
  });

  test('BATCH_SIZE 7 with --max-batches, then --start-after the cursor: every PDF once', async () => {
    let r = await etl(['run', '--source', 's3://many/pdfs/', '--dest', 's3://resume-out/', '--max-batches', '2'], {
      BATCH_SIZE: '7',
      LOG_LEVEL: 'info',
    });
    assert.equal(r.code, 0, r.stderr);
    const done = events(r.stderr, 'batch_done');
    assert.equal(done.length, 2);
    const cursor = done[1].next_start_after;
    assert.equal(cursor, pdfs[13]);
    r = await etl(['run', '--source', 's3://many/pdfs/', '--dest', 's3://resume-out/', '--start-after', cursor, '--batch-id', '2'], {
      BATCH_SIZE: '7',
    });
    assert.equal(r.code, 0, r.stderr);
    const out = await readS3Outputs('resume-out', 'resume');
    assert.deepEqual(
      out.parquet.map((p) => p.key),
      [0, 1, 2, 3, 4].map((i) => `metadata/batch_00000${i}.parquet`),
    );
    assertOneRowEach(out.rows, pdfs, 'resumed');
    // Batches are consecutive runs of the listing.
    out.rows.forEach((x, i) => assert.equal(Number(x.batch_id), Math.floor(i / 7), x.source_key));
  });
});

describe('authentication failures fail fast, naming the S3 error code', () => {
  const cases = [
    ['a wrong secret', { AWS_SECRET_ACCESS_KEY: 'wrong' }, 'pass', /SignatureDoesNotMatch/],
    ['a tampered signature', {}, 'tamper', /SignatureDoesNotMatch/],
    ['an unknown access key', { AWS_ACCESS_KEY_ID: 'AKIANOBODY' }, 'pass', /InvalidAccessKeyId/],
    ['a permanent 403', {}, 'deny', /AccessDenied/],
  ];
  for (const [what, env, mode, re] of cases) {
    test(`${what}: exit 3 within seconds, no retries`, async () => {
      s3.faults.setMode(mode);
      s3.faults.reset();
      try {
        const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://auth-out/'], {
          RETRY_MAX_ATTEMPTS: '6',
          RETRY_INITIAL_WAIT: '1',
          ...env,
        });
        const st = s3.faults.stats();
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(r.stderr, re);
        assert.ok(r.ms < 5000, `took ${r.ms} ms`);
        // The listing is refused: nothing else may be tried, nor retried.
        const seen = st.log.map((e) => `${e.method} ${e.path}`);
        assert.deepEqual(seen, [...new Set(seen)], 'a request was retried');
        assert.ok(st.requests <= 3, `${st.requests} requests`);
        assert.deepEqual(await s3.list('auth-out'), []);
      } finally {
        s3.faults.setMode('pass');
      }
    });
  }
});

describe('S3_SSE, S3_SSE_KMS_KEY_ID and S3_EXPECTED_BUCKET_OWNER', () => {
  test('SSE headers on every PUT only; the owner on every request', async () => {
    s3.verifier.clearLog();
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://sse-out/'], {
      S3_SSE: 'aws:kms',
      S3_SSE_KMS_KEY_ID: 'alias/bpecg-test',
      S3_EXPECTED_BUCKET_OWNER: s3.owner,
    });
    assert.equal(r.code, 1, r.stderr);
    const log = s3.verifier.log;
    assert.deepEqual(log.filter((e) => e.code).map((e) => `${e.method} ${e.rawPath} ${e.code}`), []);
    const puts = log.filter((e) => e.method === 'PUT');
    assert.equal(puts.length, 18); // 17 images + 1 Parquet file
    for (const e of puts) {
      assert.equal(e.headers['x-amz-server-side-encryption'], 'aws:kms', e.rawPath);
      assert.equal(e.headers['x-amz-server-side-encryption-aws-kms-key-id'], 'alias/bpecg-test', e.rawPath);
    }
    for (const e of log) assert.equal(e.headers['x-amz-expected-bucket-owner'], s3.owner, `${e.method} ${e.rawPath}`);
    const out = await readS3Outputs('sse-out', 'sse');
    assertSameImages(out.images, local.images, 'sse');
  });

  test('another owner: 403 AccessDenied, exit 3 at once', async () => {
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://sse-out/'], {
      S3_EXPECTED_BUCKET_OWNER: '999999999999',
      RETRY_INITIAL_WAIT: '1',
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /AccessDenied/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });
});

describe('fault injection', () => {
  const RETRY = { RETRY_MAX_ATTEMPTS: '10', RETRY_INITIAL_WAIT: '0.05', RETRY_MAX_WAIT: '0.5', CONCURRENCY: '4' };
  let clean;
  before(async () => {
    s3.faults.setMode('pass');
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://clean-out/'], RETRY);
    assert.equal(r.code, 1, r.stderr);
    clean = await readS3Outputs('clean-out', 'clean');
  });
  after(() => s3.faults.setMode('pass'));

  test('20% of requests failing in every way: the run completes, outputs equal a clean run', async (t) => {
    s3.faults.setMode('faults', { rate: 0.2, seed: 7, stallMs: 20000, cycle: true });
    s3.faults.reset();
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://faults-out/'], RETRY, 240000);
    const st = s3.faults.stats();
    s3.faults.setMode('pass');
    t.diagnostic(`${r.ms} ms, ${st.requests} requests, ${st.faults} faults ${JSON.stringify(st.byKind)}, ${st.connections} connections`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^21 PDFs in 1 batches: 17 success, 1 partial, 3 failed/m);
    assert.ok(st.faults >= 6, `only ${st.faults} faults in ${st.requests} requests`);
    for (const k of ['slowdown', 'internal', 'reset', 'stall', 'truncate']) assert.ok(st.byKind[k] >= 1, `no ${k}: ${JSON.stringify(st.byKind)}`);
    const out = await readS3Outputs('faults-out', 'faults');
    assertOneRowEach(out.rows, pdfKeys, 'under faults');
    assertSameImages(out.images, clean.images, 'faults vs clean');
    assert.deepEqual(stable(out.rows, { keepEtag: true }), stable(clean.rows, { keepEtag: true }));
  });

  // Each kind on its own, on the first requests it applies to: retried,
  // and the outputs are the clean run's.
  const LISTING = ({ method, path }) => method === 'GET' && /^\/[^/]+\/?$/.test(path);
  const GET_OBJECT = ({ method, path }) => method === 'GET' && /^\/[^/]+\/./.test(path);
  const PUT = ({ method }) => method === 'PUT';
  const single = [
    ['error200', LISTING, 'a listing answered 200 with an <Error> body'],
    ['truncate', GET_OBJECT, 'a PDF download cut short'],
    ['truncate', PUT, 'the answer to a PUT lost after the object was stored'],
    ['reset', PUT, 'a PUT whose connection is reset'],
    ['internal', LISTING, 'a listing answered 500 InternalError'],
  ];
  for (const [kind, only, what] of single) {
    test(`${what}: retried, same outputs`, async () => {
      s3.faults.setMode('faults', { rate: 1, kinds: [kind], only, limit: 2 });
      s3.faults.reset();
      const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://faults-out/'], RETRY);
      const st = s3.faults.stats();
      s3.faults.setMode('pass');
      assert.equal(st.byKind[kind], 2, JSON.stringify(st.byKind));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = await readS3Outputs('faults-out', `single-${kind}`);
      assertOneRowEach(out.rows, pdfKeys, what);
      assertSameImages(out.images, clean.images, what);
      assert.deepEqual(stable(out.rows, { keepEtag: true }), stable(clean.rows, { keepEtag: true }));
    });
  }

  test('throttled (35% SlowDown): the run slows down and finishes', async (t) => {
    s3.faults.setMode('faults', { rate: 0.35, seed: 11, kinds: ['slowdown'] });
    s3.faults.reset();
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://slow-out/'], { ...RETRY, RETRY_MAX_ATTEMPTS: '14', CONCURRENCY: '8' });
    const st = s3.faults.stats();
    s3.faults.setMode('pass');
    t.diagnostic(`${r.ms} ms, ${st.requests} requests, ${st.byKind.slowdown} SlowDown, at most ${st.maxInFlight} in flight`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(st.byKind.slowdown >= 10, JSON.stringify(st.byKind));
    const out = await readS3Outputs('slow-out', 'slow');
    assertOneRowEach(out.rows, pdfKeys, 'throttled');
    assertSameImages(out.images, clean.images, 'throttled vs clean');
  });

  test('a server that accepts the request and never answers: the run ends on its own', async () => {
    s3.faults.setMode('faults', { rate: 1, kinds: ['stall'], stallMs: 90000 });
    s3.faults.reset();
    const r = await etl(['run', '--source', 's3://src/pdfs/', '--dest', 's3://faults-out/'], { RETRY_MAX_ATTEMPTS: '1' });
    s3.faults.setMode('pass');
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /timed_out|timed out/);
    // Well before the proxy would have let go of the request.
    assert.ok(r.ms < 45000, `took ${r.ms} ms`);
  });
});

describe('credentials from the standard chain (no keys in the environment)', () => {
  // A small HTTP server on 127.0.0.1 for credential endpoints.
  async function serve(handler) {
    const hits = [];
    const server = http.createServer((req, res) => {
      hits.push({ method: req.method, url: req.url, headers: req.headers });
      handler(req, res, hits.length);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${server.address().port}`,
      hits,
      close: () => new Promise((r) => server.close(r)),
    };
  }
  const iso = (ms) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const json = (res, obj) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(obj));
  };

  function credsEnv(extra) {
    const env = s3.etlEnv({ LOG_LEVEL: 'debug', ...extra });
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    return env;
  }
  async function runWith(env) {
    s3.verifier.clearLog();
    const r = await runBin(BIN, ['run', '--source', 's3://src/pdfs/', '--dest', 's3://creds-out/'], { env });
    const log = [...s3.verifier.log];
    return { ...r, log };
  }
  function assertRanWith(r, keys) {
    assert.equal(r.code, 1, r.stdout + r.stderr.slice(-3000));
    assert.match(r.stdout, /^21 PDFs in 1 batches: 17 success, 1 partial, 3 failed/m);
    assert.deepEqual(r.log.filter((e) => e.code).map((e) => `${e.method} ${e.rawPath} ${e.code}`), []);
    assert.deepEqual([...new Set(r.log.map((e) => e.akid))].sort(), [...keys].sort());
    // Secrets never reach a log, even at debug level.
    for (const id of keys) {
      for (const secret of [TEMP_CREDS[id].secret, TEMP_CREDS[id].token]) {
        assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), `a secret of ${id} was logged`);
      }
    }
  }

  test('shared files: AWS_SHARED_CREDENTIALS_FILE with AWS_PROFILE and a session token', async () => {
    const dir = tempDir('bpecg-awsfiles-');
    const c = TEMP_CREDS.ASIAPROFILEKEY;
    fs.writeFileSync(
      path.join(dir, 'credentials'),
      `[default]\naws_access_key_id = AKIANOTTHISONE\naws_secret_access_key = nope\n\n[etl]\naws_access_key_id = ASIAPROFILEKEY\naws_secret_access_key = ${c.secret}\naws_session_token = ${c.token}\n`,
    );
    fs.writeFileSync(path.join(dir, 'config'), '[profile etl]\nregion = us-east-1\n');
    const r = await runWith(
      credsEnv({
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
        AWS_CONFIG_FILE: path.join(dir, 'config'),
        AWS_PROFILE: 'etl',
      }),
    );
    assertRanWith(r, ['ASIAPROFILEKEY']);
  });

  test('container credentials: FULL_URI with a token file', async () => {
    const c = TEMP_CREDS.ASIACONTAINER1;
    const srv = await serve((req, res) => {
      if (req.url !== '/v2/credentials/etl' || req.headers.authorization !== 'container-auth-token') {
        res.writeHead(403);
        return res.end();
      }
      json(res, { AccessKeyId: 'ASIACONTAINER1', SecretAccessKey: c.secret, Token: c.token, Expiration: iso(3600e3) });
    });
    try {
      const tokFile = path.join(work, 'container-token');
      fs.writeFileSync(tokFile, 'container-auth-token\n');
      const r = await runWith(
        credsEnv({
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${srv.url}/v2/credentials/etl`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokFile,
        }),
      );
      assertRanWith(r, ['ASIACONTAINER1']);
      assert.ok(srv.hits.length >= 1);
      assert.ok(srv.hits.every((h) => h.headers.authorization === 'container-auth-token'));
    } finally {
      await srv.close();
    }
  });

  test('credentials that expire within 5 minutes are fetched again before they expire', async (t) => {
    const [c1, c2] = [TEMP_CREDS.ASIACONTAINER1, TEMP_CREDS.ASIACONTAINER2];
    const srv = await serve((req, res, n) => {
      if (req.headers.authorization !== 'container-auth-token') {
        res.writeHead(403);
        return res.end();
      }
      if (n === 1) json(res, { AccessKeyId: 'ASIACONTAINER1', SecretAccessKey: c1.secret, Token: c1.token, Expiration: iso(240e3) });
      else json(res, { AccessKeyId: 'ASIACONTAINER2', SecretAccessKey: c2.secret, Token: c2.token, Expiration: iso(3600e3) });
    });
    try {
      const r = await runWith(
        credsEnv({
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${srv.url}/creds`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
        }),
      );
      t.diagnostic(`${srv.hits.length} credential fetches for ${r.log.length} requests`);
      assert.equal(r.code, 1, r.stderr.slice(-3000));
      assert.ok(srv.hits.length >= 2, `fetched ${srv.hits.length} time(s)`);
      // After the refresh every request is signed with the new key.
      const keys = r.log.map((e) => e.akid);
      assert.ok(keys.includes('ASIACONTAINER2'), JSON.stringify([...new Set(keys)]));
      assert.equal(keys.at(-1), 'ASIACONTAINER2');
      assertRanWith(r, [...new Set(keys)]);
    } finally {
      await srv.close();
    }
  });

  test('EC2 instance metadata, IMDSv2 (token first)', async () => {
    const c = TEMP_CREDS.ASIAIMDSROLEKEY;
    const srv = await serve((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
          res.writeHead(400);
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('imds-session-token');
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-session-token') {
        res.writeHead(401);
        return res.end();
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('etl-role');
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/etl-role') {
        return json(res, {
          Code: 'Success',
          Type: 'AWS-HMAC',
          AccessKeyId: 'ASIAIMDSROLEKEY',
          SecretAccessKey: c.secret,
          Token: c.token,
          Expiration: iso(3600e3),
        });
      }
      res.writeHead(404);
      res.end();
    });
    try {
      const r = await runWith(credsEnv({ AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: srv.url }));
      assertRanWith(r, ['ASIAIMDSROLEKEY']);
      assert.equal(srv.hits[0].method, 'PUT', 'IMDSv2 starts with a token');
    } finally {
      await srv.close();
    }
  });

  test('no credentials anywhere: exit 3 at once, saying so', async () => {
    const r = await runWith(credsEnv({}));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /credentials/i);
    assert.equal(r.log.length, 0, 'an unsigned request was sent');
    assert.ok(r.ms < 10000, `took ${r.ms} ms`);
  });
});
