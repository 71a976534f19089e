// The S3 test rig checked on its own, before it judges bpecg-etl: AWS's
// clients (Debian's AWS CLI, the JS SDK) pass through the verifying proxy;
// wrong or tampered signatures, bodies and preconditions are refused as S3
// refuses them; s3rver lists in S3's order; the fault proxy fails requests
// the ways it says; nothing is left running.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/protocol-http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

import { ACCESS_KEY, REGION, SECRET_KEY, startS3, tempDir } from './s3_fixture.mjs';
import { uriEncode } from './s3_verify.mjs';

// Keys that tend to break signing, encoding or XML.
const HARD_KEYS = [
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
];

const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const errOf = async (p) => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected the request to fail');
};

class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

let s3;
before(async () => {
  s3 = await startS3({
    buckets: ['cli', 'sdk', 'many', 'faults'],
    credentials: { ASIATEMPORARY: { secret: 'temp-secret', token: 'the-session-token' } },
  });
});
after(async () => {
  if (s3) await s3.stop();
});

// A raw request signed by AWS's signer (S3 rules), then optionally altered.
async function signedRequest({
  method = 'GET',
  key = '',
  bucket = 'sdk',
  query = {},
  headers = {},
  body = Buffer.alloc(0),
  secret = SECRET_KEY,
  payloadHash,
  mutate,
} = {}) {
  const url = new URL(s3.endpoint);
  const encPath = `/${bucket}${key ? '/' + key.split('/').map(uriEncode).join('/') : ''}`;
  const req = new HttpRequest({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: encPath,
    query,
    headers: {
      host: url.host,
      'x-amz-content-sha256': payloadHash ?? crypto.createHash('sha256').update(body).digest('hex'),
      ...headers,
    },
    body,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: secret },
    region: REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign(req);
  signed.sendPath = encPath;
  if (mutate) mutate(signed);
  const qs = Object.entries(signed.query)
    .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
    .join('&');
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: url.hostname, port: url.port, method, path: signed.sendPath + (qs ? '?' + qs : ''), headers: signed.headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode, headers: res.headers, text, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] });
        });
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

describe('the AWS CLI (Debian /usr/bin/aws) through the verifying proxy', () => {
  let dir;
  before(() => {
    dir = tempDir('bpecg-cli-');
    for (const k of HARD_KEYS) {
      const f = path.join(dir, 'up', k);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, `content of ${k}\n`.repeat(50));
    }
  });

  test('cp --recursive uploads every key; ls lists them; cp downloads the same bytes', async () => {
    let r = await s3.aws(['s3', 'cp', '--recursive', '--only-show-errors', path.join(dir, 'up'), 's3://cli/']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s3.verifier.log.filter((e) => e.code).length, 0, 'the verifier refused a CLI request');
    const puts = s3.verifier.log.filter((e) => e.method === 'PUT' && e.status === 200);
    assert.ok(puts.length >= HARD_KEYS.length);
    // Over plain http the CLI signs the payload: the verifier checked hashes.
    assert.ok(puts.every((e) => /^[0-9a-f]{64}$/.test(e.headers['x-amz-content-sha256'])));

    r = await s3.aws(['s3', 'ls', '--recursive', 's3://cli/']);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ \S+ +\d+ /, ''));
    assert.deepEqual(listed, [...HARD_KEYS].sort(byteOrder));

    r = await s3.aws(['s3', 'cp', '--recursive', '--only-show-errors', 's3://cli/', path.join(dir, 'down')]);
    assert.equal(r.code, 0, r.stderr);
    for (const k of HARD_KEYS) {
      assert.ok(fs.readFileSync(path.join(dir, 'down', k)).equals(fs.readFileSync(path.join(dir, 'up', k))), k);
    }
  });

  test('s3api list-objects-v2 pages with a small page size and start-after', async () => {
    const r = await s3.aws([
      's3api',
      'list-objects-v2',
      '--bucket',
      'cli',
      '--prefix',
      'pdfs/',
      '--start-after',
      'pdfs/eq=amp&semi;.pdf',
      '--page-size',
      '2',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const keys = JSON.parse(r.stdout).Contents.map((c) => c.Key);
    assert.deepEqual(
      keys,
      [...HARD_KEYS].sort(byteOrder).filter((k) => byteOrder(k, 'pdfs/eq=amp&semi;.pdf') > 0),
    );
    const lists = s3.verifier.log.filter((e) => e.method === 'GET' && e.query['list-type'] === '2' && e.query['max-keys'] === '2');
    assert.ok(lists.length >= 4, `${lists.length} pages`);
    assert.ok(lists.some((e) => e.query['continuation-token']));
  });

  test('head-object and get-object of a key with every awkward character', async () => {
    const key = HARD_KEYS[0];
    let r = await s3.aws(['s3api', 'head-object', '--bucket', 'cli', '--key', key]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ContentLength, fs.statSync(path.join(dir, 'up', key)).size);
    const out = path.join(dir, 'one');
    r = await s3.aws(['s3api', 'get-object', '--bucket', 'cli', '--key', key, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(dir, 'up', key))));
  });

  test('a wrong secret gets 403 SignatureDoesNotMatch and uploads nothing', async () => {
    const f = path.join(dir, 'wrong.txt');
    fs.writeFileSync(f, 'x');
    const r = await s3.aws(['s3', 'cp', f, 's3://cli/wrong.txt'], { env: { AWS_SECRET_ACCESS_KEY: 'wrong' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /SignatureDoesNotMatch/);
    const h = await errOf(s3.head('cli', 'wrong.txt'));
    assert.equal(h.$metadata.httpStatusCode, 404);
  });

  test('an unknown access key gets 403 InvalidAccessKeyId', async () => {
    const r = await s3.aws(['s3', 'ls', 's3://cli/'], { env: { AWS_ACCESS_KEY_ID: 'AKIANOBODY' } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidAccessKeyId/);
  });
});

describe('the JS SDK through the verifying proxy', () => {
  test('put, head, get and list keys with spaces, + = & %, unicode and deep prefixes', async () => {
    const bodies = new Map(HARD_KEYS.map((k, i) => [k, crypto.randomBytes(1000 + i)]));
    for (const [k, b] of bodies) await s3.put('sdk', k, b, { ContentType: 'application/pdf' });
    for (const [k, b] of bodies) {
      const h = await s3.head('sdk', k);
      assert.equal(h.ContentLength, b.length, k);
      const g = await s3.get('sdk', k);
      assert.ok(g.body.equals(b), k);
      assert.equal(g.contentType, 'application/pdf');
      assert.equal(g.etag, `"${crypto.createHash('md5').update(b).digest('hex')}"`);
    }
    const listed = (await s3.list('sdk', 'pdfs/')).map((o) => o.Key);
    assert.deepEqual(listed, [...HARD_KEYS].sort(byteOrder));
    // The SDK's default request checksum (CRC32) was checked by the verifier.
    const puts = s3.verifier.log.filter((e) => e.method === 'PUT' && e.rawPath.startsWith('/sdk/pdfs/'));
    assert.equal(puts.length, HARD_KEYS.length);
    assert.ok(puts.every((e) => e.status === 200 && e.headers['x-amz-checksum-crc32']));
  });

  test('a wrong secret: 403 SignatureDoesNotMatch with the canonical request', async () => {
    const bad = s3.client({ secretAccessKey: 'wrong' });
    const e = await errOf(bad.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'nope', Body: 'x' })));
    assert.equal(e.name, 'SignatureDoesNotMatch');
    assert.equal(e.$metadata.httpStatusCode, 403);
    const entry = s3.verifier.log.at(-1);
    assert.equal(entry.code, 'SignatureDoesNotMatch');
    assert.equal((await errOf(s3.head('sdk', 'nope'))).$metadata.httpStatusCode, 404);
  });

  test('an unknown key, a wrong region, a missing session token are refused', async () => {
    let e = await errOf(s3.client({ accessKeyId: 'AKIANOBODY' }).send(new HeadObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[0] })));
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.equal(s3.verifier.log.at(-1).code, 'InvalidAccessKeyId');

    e = await errOf(s3.client({ region: 'eu-west-1' }).send(new GetObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[0] })));
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.equal(e.name, 'AuthorizationHeaderMalformed');

    // Temporary credentials: only with their session token.
    const temp = { accessKeyId: 'ASIATEMPORARY', secretAccessKey: 'temp-secret' };
    await s3.client({ ...temp, sessionToken: 'the-session-token' }).send(new HeadObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[0] }));
    e = await errOf(s3.client(temp).send(new GetObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[0] })));
    assert.equal(e.name, 'InvalidToken');
    e = await errOf(s3.client({ ...temp, sessionToken: 'other' }).send(new GetObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[0] })));
    assert.equal(e.name, 'InvalidToken');
  });

  test('a tampered signature (fault proxy in tamper mode) gets 403 SignatureDoesNotMatch', async () => {
    s3.faults.setMode('tamper');
    try {
      const c = s3.client({ endpoint: s3.faultEndpoint });
      const e = await errOf(c.send(new GetObjectCommand({ Bucket: 'sdk', Key: HARD_KEYS[1] })));
      assert.equal(e.name, 'SignatureDoesNotMatch');
      assert.equal(e.$metadata.httpStatusCode, 403);
    } finally {
      s3.faults.setMode('pass');
    }
  });

  test('If-None-Match: * — 412 on an existing key (unchanged), 200 on a new one, one winner in a race', async () => {
    const key = 'cond/existing.bin';
    await s3.put('sdk', key, Buffer.from('first'));
    const e = await errOf(s3.put('sdk', key, Buffer.from('second'), { IfNoneMatch: '*' }));
    assert.equal(e.$metadata.httpStatusCode, 412);
    assert.equal(e.name, 'PreconditionFailed');
    assert.equal((await s3.get('sdk', key)).body.toString(), 'first');

    await s3.put('sdk', 'cond/new.bin', Buffer.from('new'), { IfNoneMatch: '*' });
    assert.equal((await s3.get('sdk', 'cond/new.bin')).body.toString(), 'new');

    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s3.put('sdk', 'cond/race.bin', Buffer.from(`writer ${i}`), { IfNoneMatch: '*' })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason.$metadata.httpStatusCode === 412));
  });

  test('Content-MD5 and x-amz-content-sha256 must match the body', async () => {
    const e = await errOf(s3.put('sdk', 'md5.bin', Buffer.from('abc'), { ContentMD5: crypto.createHash('md5').update('abd').digest('base64') }));
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.equal(e.name, 'BadDigest');
    await s3.put('sdk', 'md5.bin', Buffer.from('abc'), { ContentMD5: crypto.createHash('md5').update('abc').digest('base64') });

    // Signed correctly, but over a hash that is not the body's.
    const body = Buffer.from('the body that was signed');
    let r = await signedRequest({ method: 'PUT', key: 'sha.bin', body });
    assert.equal(r.status, 200);
    r = await signedRequest({ method: 'PUT', key: 'sha.bin', body, payloadHash: crypto.createHash('sha256').update('other').digest('hex') });
    assert.equal(r.status, 400);
    assert.equal(r.code, 'XAmzContentSHA256Mismatch');
    r = await signedRequest({ method: 'PUT', key: 'sha.bin', body, payloadHash: 'UNSIGNED-PAYLOAD' });
    assert.equal(r.status, 200);
  });

  test('raw requests: unsigned, unsigned x-amz header, missing content hash, altered query', async () => {
    let r = await new Promise((resolve) =>
      http.get(`${s3.endpoint}/sdk/md5.bin`, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode, t }));
      }),
    );
    assert.equal(r.status, 403);
    assert.match(r.t, /<Code>AccessDenied<\/Code>/);

    r = await signedRequest({ key: 'md5.bin', mutate: (q) => (q.headers['x-amz-meta-late'] = 'added after signing') });
    assert.equal(r.status, 403);
    assert.equal(r.code, 'AccessDenied');
    assert.match(r.text, /not signed/);

    r = await signedRequest({ key: 'md5.bin', mutate: (q) => delete q.headers['x-amz-content-sha256'] });
    assert.equal(r.status, 400);
    assert.equal(r.code, 'InvalidRequest');

    r = await signedRequest({ query: { 'list-type': '2', prefix: 'pdfs/' } });
    assert.equal(r.status, 200);
    r = await signedRequest({ query: { 'list-type': '2', prefix: 'pdfs/' }, mutate: (q) => (q.query.prefix = 'cond/') });
    assert.equal(r.status, 403);
    assert.equal(r.code, 'SignatureDoesNotMatch');
    assert.match(r.text, /<CanonicalRequest>GET\n\/sdk\nlist-type=2&amp;prefix=cond%2F\n/);

    // Path segments are not normalised: "./" in a key is part of the key,
    // and a '+' in a path is a plus, not a space.
    r = await signedRequest({ key: 'a/b', mutate: (q) => (q.sendPath = '/sdk/a/./b') });
    assert.equal(r.code, 'SignatureDoesNotMatch');
    r = await signedRequest({ key: 'a/./b' });
    assert.equal(r.code, 'NoSuchKey');
    r = await signedRequest({ key: 'pdfs/plus sign.pdf', mutate: (q) => (q.sendPath = '/sdk/pdfs/plus+sign.pdf') });
    assert.equal(r.code, 'SignatureDoesNotMatch');
    r = await signedRequest({ key: 'pdfs/plus+sign.pdf', mutate: (q) => (q.sendPath = '/sdk/pdfs/plus+sign.pdf') });
    assert.equal(r.status, 200);
  });

  test('expected bucket owner and SSE headers are checked as S3 does', async () => {
    await s3.put('sdk', 'owned.bin', Buffer.from('o'), { ExpectedBucketOwner: s3.owner });
    let e = await errOf(s3.put('sdk', 'owned.bin', Buffer.from('o'), { ExpectedBucketOwner: '999999999999' }));
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.equal(e.name, 'AccessDenied');

    const put = await s3.put('sdk', 'sse.bin', Buffer.from('s'), { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/test' });
    assert.equal(put.ServerSideEncryption, 'aws:kms');
    assert.equal(put.SSEKMSKeyId, 'alias/test');
    const r = await signedRequest({ key: 'sse.bin', headers: { 'x-amz-server-side-encryption': 'aws:kms' } });
    assert.equal(r.status, 400);
    assert.equal(r.code, 'InvalidArgument');
  });
});

describe('listings (s3rver, corrected to S3 byte order)', () => {
  const keys = [];
  before(async () => {
    for (let i = 0; i < 1050; i++) keys.push(`pdfs/${String(i).padStart(4, '0')}${i % 7 === 0 ? '/x' : '.txt'}`);
    keys.push('pdfs/0001-a', 'pdfs/0001 b', 'pdfs/0001/y', 'pdfs/é', 'pdfs/z😀', 'pdfs/z\uffff');
    await s3.putMany('many', keys.map((k) => [k, Buffer.from(k)]));
  });

  test('more than 1000 keys come in pages of 1000, in UTF-8 byte order', async () => {
    const before = s3.verifier.log.length;
    const listed = (await s3.list('many', 'pdfs/')).map((o) => o.Key);
    assert.deepEqual(listed, [...keys].sort(byteOrder));
    const pages = s3.verifier.log.slice(before).filter((e) => e.query['list-type'] === '2');
    assert.equal(pages.length, 2);
  });

  test('max-keys 7 with start-after and continuation tokens visit every key once', async () => {
    const sorted = [...keys].sort(byteOrder);
    const start = sorted[500];
    const got = [];
    let token;
    do {
      const r = await s3.sdk.send(
        new ListObjectsV2Command({ Bucket: 'many', Prefix: 'pdfs/', MaxKeys: 7, StartAfter: start, ContinuationToken: token }),
      );
      assert.ok((r.Contents || []).length <= 7);
      got.push(...(r.Contents || []).map((o) => o.Key));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(got, sorted.slice(501));
  });

  test('encoding-type=url encodes as S3 does', async () => {
    await s3.put('many', 'enc/a b+c%d/é', Buffer.from('x'));
    const r = await signedRequest({ bucket: 'many', query: { 'list-type': '2', prefix: 'enc/', 'encoding-type': 'url' } });
    assert.equal(r.status, 200);
    assert.match(r.text, /<EncodingType>url<\/EncodingType>/);
    assert.match(r.text, /<Key>enc\/a\+b%2Bc%25d\/%C3%A9<\/Key>/);
    const bad = await signedRequest({ bucket: 'many', query: { 'list-type': '2', 'encoding-type': 'base64' } });
    assert.equal(bad.status, 400);
  });
});

describe('the fault proxy', () => {
  const body = crypto.randomBytes(200000);
  before(async () => {
    await s3.put('faults', 'obj.bin', body);
  });
  after(() => s3.faults.setMode('pass'));

  const viaFaults = (opts = {}) => s3.client({ endpoint: s3.faultEndpoint, ...opts });

  test('pass mode forwards and counts requests and connections', async () => {
    s3.faults.setMode('pass');
    s3.faults.reset();
    const c = viaFaults();
    for (let i = 0; i < 5; i++) {
      const r = await c.send(new GetObjectCommand({ Bucket: 'faults', Key: 'obj.bin' }));
      assert.ok(Buffer.from(await r.Body.transformToByteArray()).equals(body));
    }
    const st = s3.faults.stats();
    assert.equal(st.requests, 5);
    assert.equal(st.faults, 0);
    assert.equal(st.connections, 1, 'keep-alive: one connection for five requests');
  });

  const cases = [
    ['slowdown', (e) => assert.equal(e.name, 'SlowDown') || assert.equal(e.$metadata.httpStatusCode, 503)],
    ['internal', (e) => assert.equal(e.$metadata.httpStatusCode, 500)],
    ['reset', (e) => assert.match(e.code || e.name, /ECONNRESET|socket hang up|EPIPE/i)],
  ];
  for (const [kind, check] of cases) {
    test(`${kind}: every request fails that way at rate 1`, async () => {
      s3.faults.setMode('faults', { rate: 1, kinds: [kind] });
      s3.faults.reset();
      const e = await errOf(viaFaults().send(new GetObjectCommand({ Bucket: 'faults', Key: 'obj.bin' })));
      check(e);
      assert.equal(s3.faults.stats().byKind[kind], 1);
    });
  }

  test('stall: no answer until the client gives up (bounded by stallMs)', async () => {
    s3.faults.setMode('faults', { rate: 1, kinds: ['stall'], stallMs: 1500 });
    const t0 = Date.now();
    const e = await errOf(viaFaults().send(new HeadObjectCommand({ Bucket: 'faults', Key: 'obj.bin' })));
    assert.ok(Date.now() - t0 >= 1400, 'it answered before the stall ended');
    assert.ok(e);
  });

  test('stallbody and truncate: the body stops half way', async () => {
    for (const kind of ['stallbody', 'truncate']) {
      s3.faults.setMode('faults', { rate: 1, kinds: [kind], stallMs: 1000 });
      const got = await new Promise((resolve) => {
        const req = http.get(`${s3.faultEndpoint}/faults/obj.bin`, (res) => {
          let n = 0;
          res.on('data', (c) => (n += c.length));
          res.on('error', () => {});
          res.on('close', () => resolve({ n, declared: Number(res.headers['content-length']), complete: res.complete }));
        });
        req.on('error', () => resolve({ n: -1 }));
      });
      // Unsigned, so the verifier answered 403 with an XML body: cut in half.
      assert.ok(got.n >= 0 && got.n < got.declared, `${kind}: ${JSON.stringify(got)}`);
      assert.equal(got.complete, false);
    }
  });

  test('error200 answers listings only, with a 200 and an <Error> body', async () => {
    s3.faults.setMode('faults', { rate: 1, kinds: ['error200'] });
    const r = await new Promise((resolve) =>
      http.get(`${s3.faultEndpoint}/faults?list-type=2`, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode, t }));
      }),
    );
    assert.equal(r.status, 200);
    assert.match(r.t, /<Error><Code>InternalError<\/Code>/);
    // Not a listing: passed through (404 from s3rver).
    const g = await errOf(viaFaults().send(new GetObjectCommand({ Bucket: 'faults', Key: 'nope' })));
    assert.equal(g.$metadata.httpStatusCode, 404);
  });

  test('deny: a permanent 403 AccessDenied', async () => {
    s3.faults.setMode('deny');
    s3.faults.reset();
    const e = await errOf(viaFaults().send(new GetObjectCommand({ Bucket: 'faults', Key: 'obj.bin' })));
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.equal(s3.faults.stats().requests, 1);
  });

  test('a 20% mix with a seed is repeatable and hits several kinds', async () => {
    const run = async () => {
      s3.faults.setMode('faults', { rate: 0.2, seed: 42, kinds: ['slowdown', 'internal', 'reset', 'truncate'] });
      s3.faults.reset();
      const c = viaFaults();
      const outcomes = [];
      for (let i = 0; i < 60; i++) {
        try {
          const r = await c.send(new GetObjectCommand({ Bucket: 'faults', Key: 'obj.bin' }));
          const b = Buffer.from(await r.Body.transformToByteArray());
          outcomes.push(b.equals(body) ? 'ok' : 'short');
        } catch (e) {
          outcomes.push(e.$metadata?.httpStatusCode || 'net');
        }
      }
      return { outcomes, st: s3.faults.stats() };
    };
    const a = await run();
    const b = await run();
    assert.deepEqual(a.outcomes, b.outcomes);
    const failed = a.outcomes.filter((o) => o !== 'ok').length;
    assert.equal(failed, a.st.faults);
    assert.ok(failed >= 6 && failed <= 20, `${failed} of 60 failed`);
    assert.ok(Object.keys(a.st.byKind).length >= 3, JSON.stringify(a.st.byKind));
  });
});

describe('the fixture cleans up', () => {
  test('stop() ends s3rver and both proxies and removes the data directory', async () => {
    const fx = await startS3({ buckets: ['tmp'] });
    await fx.put('tmp', 'k', Buffer.from('v'));
    const probe = (url) =>
      new Promise((resolve) => {
        const r = http.get(url, (res) => {
          res.resume();
          resolve(true);
        });
        r.on('error', () => resolve(false));
      });
    assert.equal(await probe(fx.s3rverEndpoint), true);
    await fx.stop();
    for (const url of [fx.s3rverEndpoint, fx.endpoint, fx.faultEndpoint]) assert.equal(await probe(url), false, url);
    assert.throws(() => process.kill(fx.s3rverPid, 0), { code: 'ESRCH' }, 's3rver is still running');
    assert.equal(fs.existsSync(fx.dir), false);
  });
});
