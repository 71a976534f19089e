// A hostile S3 endpoint (our own, on 127.0.0.1) whose listings loop,
// alternate tokens, reorder or repeat keys (item 9 of issue 15), and an S3
// destination whose crop uploads fail (items 2 and 11), also on the Lambda
// emulator, with the results files of item 10.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { duckRows, logLines, runAsync, samples, tmpDir } from './hostile_common.mjs';
import { startLambdaEmulator } from './lambda_emulator.mjs';
import { BIN, functionEnv, logEvents, resultRows, uploadSamples } from './lambda_helpers.mjs';
import { startS3 } from './s3_fixture.mjs';

const work = tmpDir('bpecg-hs3-');
const IN = path.join(work, 'in');
let PDF;
before(() => {
  samples(IN, 40, 12);
  PDF = fs.readFileSync(path.join(IN, 'ecg_00000.pdf'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

const xmlEsc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
function listXml(keys, token) {
  const contents = keys
    .map((k) => `<Contents><Key>${xmlEsc(k)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>${PDF.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>src</Name><Prefix></Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
    `<IsTruncated>${token ? 'true' : 'false'}</IsTruncated>` +
    (token ? `<NextContinuationToken>${token}</NextContinuationToken>` : '') +
    `${contents}</ListBucketResult>`
  );
}

// Listings the way a broken S3-compatible server might serve them:
// page(query) -> {keys, token}. Objects are served as one sample PDF.
const MODES = {
  // The same token forever, with the same non-empty page.
  loop: () => ({ keys: ['a.pdf', 'b.pdf', 'c.pdf'], token: 'SAME' }),
  // Two tokens taking turns, empty pages.
  alternate: (q) => ({ keys: [], token: q.get('continuation-token') === 'A' ? 'B' : 'A' }),
  // A new token each time, never a key.
  fresh: (q) => ({ keys: [], token: `T${Number((q.get('continuation-token') || 'T0').slice(1)) + 1}` }),
  unordered: () => ({ keys: ['b.pdf', 'a.pdf', 'c.pdf'] }),
  duplicate: () => ({ keys: ['a.pdf', 'a.pdf', 'b.pdf'] }),
  // start-after ignored: every batch gets the listing from the start (it
  // gave 210 rows for 30 keys).
  restart: () => ({ keys: ['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf', 'e.pdf'] }),
};

async function hostileS3(mode) {
  const stats = { lists: 0, gets: 0 };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    req.resume();
    if (req.method === 'GET' && u.searchParams.get('list-type') === '2') {
      stats.lists++;
      const { keys, token } = MODES[mode](u.searchParams);
      const body = listXml(keys, token);
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      return res.end(body);
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      stats.gets++;
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': PDF.length, etag: '"e"' });
      return res.end(req.method === 'GET' ? PDF : undefined);
    }
    res.writeHead(501);
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${server.address().port}`, stats, stop: () => new Promise((r) => server.close(r)) };
}

describe('a listing that breaks its contract stops the run (item 9)', () => {
  for (const mode of Object.keys(MODES)) {
    test(`${mode}: exit 3 in under 5 s, no key processed twice`, async () => {
      const s3 = await hostileS3(mode);
      const dest = path.join(work, `list-${mode}`);
      try {
        const r = await runAsync(['run', '--source', 's3://src/', '--dest', dest, '--batch-size', '2', '--concurrency', '2'], {
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'secret',
          AWS_REGION: 'us-east-1',
          RETRY_MAX_ATTEMPTS: '1',
        }, 20000);
        assert.equal(r.signal, null, `killed: ${s3.stats.lists} listings`);
        assert.equal(r.code, 3, r.stderr);
        assert.ok(r.ms < 5000, `took ${r.ms} ms`);
        assert.match(r.stderr, /the endpoint's listing is broken \(its fault, not the bucket's\)/);
        assert.ok(s3.stats.lists <= 40, `${s3.stats.lists} listings`);
        const rows = await duckRows(dest);
        assert.equal(new Set(rows.map((x) => x.source_key)).size, rows.length, 'a duplicate row');
        // loop and restart serve a good first page: batch 0 is written,
        // and batch 1's listing, which starts over, is refused.
        if (mode === 'loop' || mode === 'restart') assert.deepEqual(rows.map((x) => x.source_key), ['a.pdf', 'b.pdf']);
        else assert.equal(rows.length, 0);
      } finally {
        await s3.stop();
      }
    });
  }
});

let s3;
before(async () => {
  s3 = await startS3({ buckets: ['src', 'dst', 'crops-out'] });
});
after(async () => {
  await s3?.stop();
});

const isCropPut = ({ method, path: p }) => method === 'PUT' && p.includes('/images/');

describe('crop uploads that fail (items 2 and 11 on S3)', () => {
  test('every crop PUT fails (500 after 3 attempts): exit 3 after a few PDFs', async () => {
    s3.faults.setMode('faults', { rate: 1, kinds: ['internal'], only: isCropPut });
    try {
      const r = await runAsync(['run', '--source', IN, '--dest', 's3://crops-out/all/', '--concurrency', '4'], {
        ...s3.etlEnv(),
        RETRY_MAX_ATTEMPTS: '3',
        RETRY_INITIAL_WAIT: '0.01',
        RETRY_MAX_WAIT: '0.05',
        LOG_LEVEL: 'info',
      });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /8 PDFs in a row could not write their outputs/);
      const done = logLines(r.stderr).filter((l) => l.event === 'pdf_processed');
      assert.ok(done.length < 40 && done.every((l) => l.status === 'failed' && l.error_type === 's3_put'), JSON.stringify(done.slice(0, 3)));
      assert.deepEqual((await s3.list('crops-out', 'all/')).filter((o) => o.Key.endsWith('.parquet')), []);
    } finally {
      s3.faults.setMode('pass');
    }
  });

  test('some crop PUTs fail: those rows are failed s3_put, exit 1', async () => {
    s3.faults.setMode('faults', { rate: 0.35, kinds: ['internal'], only: isCropPut, seed: 7 });
    try {
      const r = await runAsync(['run', '--source', IN, '--dest', 's3://crops-out/some/', '--concurrency', '4'], {
        ...s3.etlEnv(),
        RETRY_MAX_ATTEMPTS: '1',
      });
      assert.equal(r.code, 1, r.stderr);
      const { rows } = await resultRows(s3, 'crops-out', 'some/metadata/');
      assert.equal(rows.length, 40);
      const bad = rows.filter((x) => x.status !== 'success');
      assert.ok(bad.length > 0);
      for (const x of bad) {
        assert.equal(x.status, 'failed');
        assert.equal(x.error_type, 's3_put');
      }
      assert.ok(!rows.some((x) => x.status === 'partial'));
    } finally {
      s3.faults.setMode('pass');
    }
  });
});

describe('Lambda: failed outputs are counted, and can fail the invocation (item 11)', () => {
  let keys;
  before(async () => {
    keys = await uploadSamples(s3, 'src', 'pdfs/', 12);
  });

  async function emulator(name, env = {}) {
    return startLambdaEmulator({
      bin: BIN,
      env: functionEnv(s3, { IMAGE_PREFIX: `${name}/images/`, METADATA_PREFIX: `${name}/metadata/`, RETRY_MAX_ATTEMPTS: '1', ...env }),
      timeoutMs: 60000,
      credentials: { [s3.accessKeyId]: s3.secretAccessKey },
    });
  }
  const items = (ks, first = 0) => ({ Items: ks.map((Key, i) => ({ Key, Index: first + i })) });

  test('the response and lambda_batch_done count output_failed', async () => {
    const lam = await emulator('count');
    s3.faults.reset(); // limit counts from here
    s3.faults.setMode('faults', { rate: 1, kinds: ['internal'], only: (r) => isCropPut(r) && r.path.includes('ecg_00002'), limit: 1 });
    try {
      const r = await lam.invoke(items(keys.slice(0, 4)));
      assert.ok(r.response, JSON.stringify(r.error));
      assert.equal(r.response.output_failed, 1);
      assert.equal(r.response.counts.failed, 1);
      const done = logEvents(lam).find((e) => e.event === 'lambda_batch_done');
      assert.equal(done.output_failed, 1);
      assert.equal(done.level, 'WARN');
    } finally {
      s3.faults.setMode('pass');
      await lam.stop();
    }
  });

  test('FAIL_INVOCATION_ON=output fails the invocation; the retry rewrites the batch', async () => {
    const lam = await emulator('policy', { FAIL_INVOCATION_ON: 'output' });
    s3.faults.reset();
    s3.faults.setMode('faults', { rate: 1, kinds: ['internal'], only: (r) => isCropPut(r) && r.path.includes('ecg_00001'), limit: 1 });
    try {
      const first = await lam.invoke(items(keys.slice(0, 4), 100));
      assert.ok(first.error, JSON.stringify(first.response));
      assert.equal(first.error.errorType, 'BatchOutputFailed');
      assert.match(first.error.errorMessage, /1 of them because an output could not be written/);
      s3.faults.setMode('pass');
      const second = await lam.invoke(items(keys.slice(0, 4), 100));
      assert.ok(second.response, JSON.stringify(second.error));
      const { rows, files } = await resultRows(s3, 'dst', 'policy/metadata/');
      assert.equal(files.length, 1);
      assert.equal(rows.length, 4);
      assert.ok(rows.every((x) => x.status === 'success'));
    } finally {
      s3.faults.setMode('pass');
      await lam.stop();
    }
  });

  test('FAIL_INVOCATION_ON=output on a chain: not committed, the retry redoes it', async () => {
    const lam = await emulator('chainpol', { FAIL_INVOCATION_ON: 'output', BATCH_SIZE: '12' });
    s3.faults.reset();
    s3.faults.setMode('faults', { rate: 1, kinds: ['internal'], only: (r) => isCropPut(r) && r.path.includes('ecg_00003'), limit: 1 });
    try {
      const first = await lam.invoke({ run_id: 'pol1' });
      assert.ok(first.error, JSON.stringify(first.response));
      assert.equal(first.error.errorType, 'BatchOutputFailed');
      assert.match(first.error.errorMessage, /not committed, so a retry redoes it/);
      assert.deepEqual((await s3.list('dst', 'chainpol/metadata/')).filter((o) => o.Key.endsWith('.parquet')), []);
      s3.faults.setMode('pass');
      const second = await lam.invoke({ run_id: 'pol1' });
      assert.ok(second.response, JSON.stringify(second.error));
      assert.equal(second.response.pdfs, 12);
      assert.equal(second.response.output_failed, 0);
      const { rows } = await resultRows(s3, 'dst', 'chainpol/metadata/');
      assert.equal(rows.length, 12);
      assert.ok(rows.every((x) => x.status === 'success'));
    } finally {
      s3.faults.setMode('pass');
      await lam.stop();
    }
  });

  test('an S3 notification for caf%E9.pdf is one failed row, not a failed notification (item 12)', async () => {
    const lam = await emulator('evt');
    try {
      const rec = (key) => ({
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'src' }, object: { key } },
      });
      const r = await lam.invoke({ Records: [rec('pdfs/caf%E9.pdf'), rec(keys[0]), rec('pdfs/caf%E9.txt')] });
      assert.ok(r.response, JSON.stringify(r.error));
      assert.equal(r.response.pdfs, 2);
      assert.equal(r.response.counts.failed, 1);
      assert.equal(r.response.counts.success, 1);
      // A skipped key that is not UTF-8 is shown escaped, as in source_key.
      assert.deepEqual(r.response.skipped.keys, [{ key: 'pdfs/caf%E9.txt', reason: 'not_pdf' }]);
      const { rows } = await resultRows(s3, 'dst', 'evt/metadata/');
      const bad = rows.find((x) => x.error_type === 'bad_key');
      assert.equal(bad.source_key, 'pdfs/caf%E9.pdf');
      assert.equal(bad.status, 'failed');
    } finally {
      await lam.stop();
    }
  });

  test("an Items batch with Index 0 never replaces another run's batch_000000 (item 10)", async () => {
    const lam = await emulator('clash', { BATCH_SIZE: '10' });
    try {
      const chain = await lam.invoke({});
      assert.ok(chain.response, JSON.stringify(chain.error));
      assert.equal(chain.response.pdfs, 10);
      const before0 = await s3.get('dst', 'clash/metadata/batch_000000.parquet');
      const r = await lam.invoke(items(keys.slice(11, 12), 0));
      assert.ok(r.error, JSON.stringify(r.response));
      assert.equal(r.error.errorType, 'BatchExists');
      assert.match(r.error.errorMessage, /already holds the results of another key range/);
      const after0 = await s3.get('dst', 'clash/metadata/batch_000000.parquet');
      assert.deepEqual(after0.body, before0.body);
    } finally {
      await lam.stop();
    }
  });
});
