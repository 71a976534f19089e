// Batches of explicit keys on the Lambda emulator: Step Functions
// Distributed Map batches (run the way deploy/statemachine.asl.json says:
// its ItemReader, ItemSelector, ItemBatcher and Retry are interpreted here)
// and S3 event notifications. Each processes exactly its keys.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startLambdaEmulator } from './lambda_emulator.mjs';
import { BIN, SOURCE, assertExactlyOnce, functionEnv, resultRows, samples, uploadSamples } from './lambda_helpers.mjs';
import { startS3 } from './s3_fixture.mjs';

let s3;
let pdfKeys; // every PDF under pdfs/
const ODD = 'pdfs/with space+plus é.pdf';

before(async () => {
  s3 = await startS3({ buckets: ['src', 'dst'] });
  pdfKeys = await uploadSamples(s3, 'src', 'pdfs/', 95);
  const one = fs.readFileSync(path.join(samples(95), 'ecg_00001.pdf'));
  await s3.put('src', ODD, one);
  await s3.put('src', 'pdfs/notes.txt', 'not a pdf');
  await s3.put('src', 'other/elsewhere.pdf', one);
  pdfKeys = [...pdfKeys, ODD].sort(); // byte order, as S3 lists
});
after(async () => {
  await s3?.stop();
});

async function emulator(name, { env = {}, ...o } = {}) {
  return startLambdaEmulator({
    bin: BIN,
    env: functionEnv(s3, { IMAGE_PREFIX: `${name}/images/`, METADATA_PREFIX: `${name}/metadata/`, ...env }),
    timeoutMs: 60000,
    credentials: { [s3.accessKeyId]: s3.secretAccessKey },
    ...o,
  });
}

// ---- a small interpreter for the Distributed Map of statemachine.asl.json

function substitute(text, subs) {
  return text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, k) => {
    assert.ok(k in subs, `no substitution for \${${k}}`);
    return String(subs[k]);
  });
}

function jsonPath(p, input, ctx) {
  const [root, ...parts] = p.split('.');
  let v = root === '$$' ? ctx : input;
  assert.ok(root === '$' || root === '$$', `unsupported path ${p}`);
  for (const k of parts) v = v?.[k];
  return v;
}

/** Parameters/ItemSelector/BatchInput templates: "k.$" takes a path or an
 * intrinsic; the rest is literal. */
function fill(tpl, input, ctx) {
  const out = {};
  for (const [k, v] of Object.entries(tpl)) {
    if (!k.endsWith('.$')) {
      out[k] = v && typeof v === 'object' ? fill(v, input, ctx) : v;
      continue;
    }
    const m = /^States\.StringToJson\('(.*)'\)$/.exec(v);
    out[k.slice(0, -2)] = m ? JSON.parse(m[1]) : jsonPath(v, input, ctx);
  }
  return out;
}

/** Run the state machine's Map over the S3 fixture; invoke(payload) runs one
 * batch and returns {response} or {error}. */
async function runStateMachine(subs, executionName, invoke) {
  const asl = JSON.parse(substitute(fs.readFileSync(path.join(SOURCE, 'deploy', 'statemachine.asl.json'), 'utf8'), subs));
  let state = asl.States[asl.StartAt];
  const ctx = { Execution: { Name: executionName } };
  let input = {};
  assert.equal(state.Type, 'Pass');
  input = { ...input, settings: fill(state.Parameters, input, ctx) };
  assert.equal(state.ResultPath, '$.settings');
  const map = asl.States[state.Next];
  assert.equal(map.Type, 'Map');
  assert.equal(map.ItemProcessor.ProcessorConfig.Mode, 'DISTRIBUTED');
  assert.equal(map.ItemReader.Resource, 'arn:aws:states:::s3:listObjectsV2');
  const { Bucket, Prefix } = map.ItemReader.Parameters;
  const listed = await s3.list(Bucket, Prefix, { pageSize: 40 });
  const items = listed.map((o, i) => fill(map.ItemSelector, {}, { ...ctx, Map: { Item: { Value: { Key: o.Key, Size: o.Size }, Index: i } } }));
  const size = jsonPath(map.ItemBatcher.MaxItemsPerBatchPath, input, ctx);
  const batchInput = fill(map.ItemBatcher.BatchInput, input, ctx);
  const batches = [];
  for (let i = 0; i < items.length; i += size) batches.push({ Items: items.slice(i, i + size), BatchInput: batchInput });
  const task = map.ItemProcessor.States[map.ItemProcessor.StartAt];
  assert.equal(task.Resource, 'arn:aws:states:::lambda:invoke');
  assert.equal(task.Parameters.FunctionName, subs.EtlFunctionArn);
  const results = [];
  const concurrency = jsonPath(map.MaxConcurrencyPath, input, ctx);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const payload = fill(task.Parameters, b, ctx).Payload;
      let attempt = 0;
      for (;;) {
        const r = await invoke(payload);
        results.push({ batch: b, ...r });
        if (!r.error) break;
        const rule = task.Retry.find((x) => x.ErrorEquals.includes(r.error.errorType));
        if (!rule || ++attempt > rule.MaxAttempts) break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, 3) }, worker));
  return { settings: input.settings, batches, results, size, tolerated: input.settings.tolerated_failure_percentage };
}

describe('Step Functions Distributed Map', () => {
  let lam, run, rows, files;
  const subs = {
    EtlFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bpecg-etl',
    SourceBucket: 'src',
    PdfPrefix: 'pdfs/',
    BatchSize: 25,
    MapMaxConcurrency: 2,
    ToleratedFailurePercentage: 5,
    ResultsBucket: 'dst',
    ResultsPrefix: 'dmap/metadata/_stepfunctions/',
  };
  before(async () => {
    lam = await emulator('dmap', { maxSandboxes: 2, env: { BATCH_SIZE: '25' } });
    run = await runStateMachine(subs, 'exec-2024-01', (p) => lam.invoke(p));
    await lam.stop();
    ({ rows, files } = await resultRows(s3, 'dst', 'dmap/metadata/'));
  });

  test('the state machine batches the listing BATCH_SIZE items at a time', () => {
    assert.equal(run.size, 25);
    assert.equal(run.tolerated, 5);
    assert.equal(run.batches.length, 4); // 95 + 1 PDFs + notes.txt = 97 items
    assert.deepEqual(run.batches[0].BatchInput, { run_id: 'exec-2024-01' });
    assert.deepEqual(Object.keys(run.batches[0].Items[0]).sort(), ['Index', 'Key']);
  });

  test('every PDF of the listing gets exactly one row; other keys none', () => {
    assert.deepEqual(
      run.results.filter((r) => r.error),
      [],
    );
    assertExactlyOnce(rows, pdfKeys, 'Distributed Map');
    for (const r of rows) assert.equal(r.status, 'success', `${r.source_key}: ${r.error_type}`);
    // Each batch is named after its first item's position in the listing.
    assert.deepEqual(files, ['dmap/metadata/batch_000000.parquet', 'dmap/metadata/batch_000025.parquet', 'dmap/metadata/batch_000050.parquet', 'dmap/metadata/batch_000075.parquet']);
  });

  test('responses report each batch and the keys they skipped', () => {
    const res = run.results.map((r) => r.response);
    assert.equal(res.reduce((n, r) => n + r.pdfs, 0), pdfKeys.length);
    for (const r of res) {
      assert.equal(r.source, 'distributed_map');
      assert.equal(r.run_id, 'exec-2024-01');
      assert.equal(r.next_invoked, false, 'a Distributed Map batch never chains');
      assert.equal(r.parquet_key, `dmap/metadata/batch_${String(r.batch_id).padStart(6, '0')}.parquet`);
    }
    const skipped = res.flatMap((r) => r.skipped.keys);
    assert.deepEqual(skipped, [{ key: 'pdfs/notes.txt', reason: 'not_pdf' }]);
    assert.equal(lam.selfInvocations.length, 0);
  });

  test('a retried batch rewrites the same file with the same rows', async () => {
    const again = await emulator('dmap');
    try {
      const r = await again.invoke(run.batches[1]);
      assert.ok(r.response, JSON.stringify(r.error));
      assert.equal(r.response.parquet_key, 'dmap/metadata/batch_000025.parquet');
    } finally {
      await again.stop();
    }
    const after2 = await resultRows(s3, 'dst', 'dmap/metadata/');
    assertExactlyOnce(after2.rows, pdfKeys, 'after a retry');
    assert.deepEqual(after2.files, files);
  });
});

describe('a Distributed Map batch that runs out of time', () => {
  test('writes a row for every key, fails with BatchIncomplete, and a retry completes the same file', async () => {
    const batch = {
      Items: pdfKeys.slice(0, 30).map((Key, Index) => ({ Key, Index: Index + 1000 })),
      BatchInput: { run_id: 'slow' },
    };
    // Slow downloads and a short timeout: the deadline comes first.
    s3.faults.setMode('faults', {
      rate: 0.5,
      kinds: ['stall'],
      stallMs: 200,
      seed: 3,
      only: ({ method, path }) => method === 'GET' && /\/src\/.*\.pdf$/.test(path),
    });
    const lam = await emulator('slow', { timeoutMs: 3000, env: { CONCURRENCY: '1', DEADLINE_MARGIN_MS: '1800', RETRY_MAX_ATTEMPTS: '8', RETRY_INITIAL_WAIT: '0.02', RETRY_MAX_WAIT: '0.1' } });
    let first;
    try {
      first = await lam.invoke(batch);
    } finally {
      s3.faults.setMode('pass');
      await lam.stop();
    }
    assert.ok(first.error, JSON.stringify(first.response));
    assert.equal(first.error.errorType, 'BatchIncomplete');
    assert.equal(first.error.header, 'BatchIncomplete');
    assert.match(first.error.errorMessage, /of 30 keys were not started before the deadline/);
    assert.deepEqual(first.error.stackTrace, []);
    let { rows } = await resultRows(s3, 'dst', 'slow/metadata/');
    assertExactlyOnce(rows, batch.Items.map((i) => i.Key), 'incomplete batch');
    const timeouts = rows.filter((r) => r.error_type === 'timeout');
    assert.ok(timeouts.length > 0 && timeouts.length < 30, `${timeouts.length} timeout rows`);
    assert.ok(timeouts.every((r) => r.status === 'failed'));

    // Step Functions retries BatchIncomplete (statemachine.asl.json).
    const retry = await emulator('slow', { timeoutMs: 60000 });
    try {
      const second = await retry.invoke(batch);
      assert.ok(second.response, JSON.stringify(second.error));
      assert.equal(second.response.parquet_key, 'slow/metadata/batch_001000.parquet');
    } finally {
      await retry.stop();
    }
    ({ rows } = await resultRows(s3, 'dst', 'slow/metadata/'));
    assertExactlyOnce(rows, batch.Items.map((i) => i.Key), 'after the retry');
    assert.ok(rows.every((r) => r.status === 'success'));
  });
});

describe('S3 event notifications', () => {
  const record = (key, { bucket = 'src', event = 'ObjectCreated:Put', seq = '0055AED6DCD90281E5' } = {}) => ({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventName: event,
    s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key, size: 1, sequencer: seq } },
  });
  // Keys arrive URL-encoded, spaces as '+'.
  const enc = (k) => encodeURIComponent(k).replace(/%20/g, '+').replace(/%2F/g, '/');

  test('process exactly the created PDFs they name, URL-decoded, once each even when delivered twice', async () => {
    const event = {
      Records: [
        record(enc(ODD)),
        record(enc(pdfKeys[3])),
        record(enc(pdfKeys[4])),
        record(enc(pdfKeys[4])), // the same key twice in one event
        record(enc('pdfs/notes.txt')),
        record(enc(pdfKeys[5]), { event: 'ObjectRemoved:Delete' }),
        record(enc(pdfKeys[6]), { bucket: 'another-bucket' }),
        record(enc('other/elsewhere.pdf')),
      ],
    };
    const lam = await emulator('s3evt', { maxSandboxes: 2, duplicate: () => 'later', duplicateDelayMs: 500 });
    try {
      await lam.invoke(event, { type: 'Event' });
      await lam.idle();
    } finally {
      await lam.stop();
    }
    assert.equal(lam.invocations.length, 2);
    const [a, b] = lam.invocations.map((i) => i.response);
    assert.ok(a && b, JSON.stringify(lam.invocations));
    assert.equal(a.source, 's3');
    assert.equal(a.pdfs, 3);
    assert.equal(a.batch_id, b.batch_id, 'a redelivery rewrites the same batch');
    assert.deepEqual(
      a.skipped.keys.map((s) => s.reason),
      ['not_pdf', 'not_object_created', 'other_bucket', 'outside_prefix', 'duplicate'],
    );
    assert.equal(a.skipped.count, 5);
    const { rows, files } = await resultRows(s3, 'dst', 's3evt/metadata/');
    assert.equal(files.length, 1);
    assertExactlyOnce(rows, [ODD, pdfKeys[3], pdfKeys[4]].sort(), 'S3 notification');
    assert.ok(rows.every((r) => r.status === 'success'));
  });

  test("S3's test event is acknowledged and does nothing", async () => {
    const lam = await emulator('s3test');
    try {
      const r = await lam.invoke({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2024-01-01T00:00:00.000Z', Bucket: 'src', RequestId: 'X', HostId: 'Y' });
      assert.equal(r.response.pdfs, 0);
      assert.equal(r.response.note, 'S3 test event: nothing to do');
    } finally {
      await lam.stop();
    }
    assert.deepEqual((await resultRows(s3, 'dst', 's3test/metadata/')).files, []);
  });
});

describe('malformed batch events', () => {
  test('get an InvalidEvent error that says what is wrong', async () => {
    const lam = await emulator('bad', { maxSandboxes: 1 });
    const cases = [
      [{ Items: 3 }, /^Items must be an array/],
      [{ Items: [{ Key: 'pdfs/a.pdf' }, { Size: 3 }] }, /^Items\[1\]\.Key must be a non-empty string$/],
      [{ Items: [{ Key: 'pdfs/a.pdf', Index: -1 }] }, /^Items\[0\]\.Index must be an integer >= 0$/],
      [{ Items: [], BatchInput: { run_id: 'a/b' } }, /^BatchInput\.run_id must be 1 to 64 characters/],
      [{ Records: [{ s3: { object: { key: 'x.pdf' } } }] }, /^Records\[0\] must have s3\.bucket\.name and s3\.object\.key/],
    ];
    try {
      for (const [ev, want] of cases) {
        const r = await lam.invoke(ev);
        assert.ok(r.error, `${JSON.stringify(ev)} was accepted`);
        assert.equal(r.error.errorType, 'InvalidEvent');
        assert.match(r.error.errorMessage, want);
      }
      // One sandbox answered them all: a bad event does not end it.
      assert.deepEqual(lam.exits, []);
      assert.deepEqual([...new Set(lam.invocations.map((i) => i.sandbox))], [1]);
    } finally {
      await lam.stop();
    }
  });
});
