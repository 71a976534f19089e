// The self-invoking chain on the Lambda emulator, the real bootstrap and S3
// (s3rver behind the SigV4-verifying proxy): 250 PDFs, BATCH_SIZE 40, every
// PDF exactly once (one row each across all batch files, read back with
// DuckDB), also when events are delivered twice, when deadlines cut batches
// short, when a worker is stuck past the hard deadline, after a crash
// between claim and results, and with the chain's brakes (kill switch,
// MAX_CHAIN_BATCHES). The IAM policy of deploy/template.yaml is checked
// against the requests the function actually made.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DeleteObjectCommand } from '@aws-sdk/client-s3';

import { startLambdaEmulator } from './lambda_emulator.mjs';
import {
  BIN,
  arnMatches,
  assertExactlyOnce,
  functionEnv,
  loadTemplate,
  logEvents,
  resolveCfn,
  resultRows,
  uploadSamples,
} from './lambda_helpers.mjs';
import { startS3 } from './s3_fixture.mjs';

const N = 250;
let s3;
let keys; // pdfs/ecg_00000.pdf ... (250)
let few; // few/ecg_00000.pdf ... (60)

before(async () => {
  s3 = await startS3({ buckets: ['src', 'dst'] });
  keys = await uploadSamples(s3, 'src', 'pdfs/', N);
  few = await uploadSamples(s3, 'src', 'few/', 60);
  // Not a PDF: listed, skipped, and never a row.
  await s3.put('src', 'pdfs/readme.txt', 'not a pdf');
});
after(async () => {
  await s3?.stop();
});

// Answered invocations in batch order. The emulator records them as they
// settle, and a batch that invokes the next one before answering can be
// overtaken by it (a next batch that stops at once, on a kill switch).
const ok = (lam) =>
  lam.invocations.filter((i) => i.response).sort((a, b) => (a.response.batch_id ?? -1) - (b.response.batch_id ?? -1));
const errors = (lam) => lam.invocations.filter((i) => i.error);

/** Run a chain from `seed` to the end; returns the emulator (stopped). */
async function chain(name, { env = {}, seed = {}, emu = {}, prefix = 'pdfs/' } = {}) {
  const lam = await startLambdaEmulator({
    bin: BIN,
    env: functionEnv(s3, {
      PDF_PREFIX: prefix,
      IMAGE_PREFIX: `${name}/images/`,
      METADATA_PREFIX: `${name}/metadata/`,
      ...env,
    }),
    timeoutMs: 60000,
    credentials: { [s3.accessKeyId]: s3.secretAccessKey },
    ...emu,
  });
  try {
    await lam.invoke(seed, { type: 'Event' });
    await lam.idle(900000);
  } finally {
    await lam.stop();
  }
  return lam;
}

function explain(lam) {
  return (
    'invocations:\n' +
    lam.invocations.map((i) => `  #${i.sandbox} try ${i.attempt}${i.copy ? ' (copy)' : ''}: ${JSON.stringify(i.response ?? i.error).slice(0, 400)}`).join('\n') +
    '\n' +
    lam.logs().slice(-6000)
  );
}

describe('a chain over 250 PDFs, BATCH_SIZE 40', () => {
  let lam, rows, files, logFrom, logTo;
  before(async () => {
    logFrom = s3.verifier.log.length;
    lam = await chain('plain');
    logTo = s3.verifier.log.length;
    ({ rows, files } = await resultRows(s3, 'dst', 'plain/metadata/'));
  });

  test('every PDF gets exactly one row, in batches of 40 in listing order', () => {
    assertExactlyOnce(rows, keys, 'plain chain');
    assert.deepEqual(files, [0, 1, 2, 3, 4, 5, 6].map((b) => `plain/metadata/batch_00000${b}.parquet`));
    for (const r of rows) {
      assert.equal(Number(r.batch_id), Math.floor(keys.indexOf(r.source_key) / 40), r.source_key);
      assert.equal(r.status, 'success', `${r.source_key}: ${r.error_type}`);
    }
  });

  test('each invocation reports its batch and invokes the next until the listing ends', () => {
    assert.deepEqual(errors(lam), [], explain(lam));
    const res = ok(lam).map((i) => i.response);
    assert.equal(res.length, 7, explain(lam));
    const runId = res[0].run_id;
    res.forEach((r, b) => {
      assert.equal(r.source, 'chain');
      assert.equal(r.run_id, runId);
      assert.equal(r.batch_id, b);
      assert.equal(r.pdfs, b < 6 ? 40 : 10);
      assert.deepEqual(r.counts, { success: r.pdfs, partial: 0, failed: 0 });
      assert.equal(r.parquet_key, `plain/metadata/batch_00000${b}.parquet`);
      assert.equal(r.duplicate, false);
      assert.equal(r.deadline_cut, false);
      assert.equal(r.last_key, keys[Math.min(40 * b + 39, N - 1)]);
      if (b < 6) {
        assert.equal(r.next_invoked, true);
        assert.equal(r.more, true);
        assert.equal(r.next_start_after, r.last_key);
      } else {
        assert.equal(r.next_invoked, false);
        assert.equal(r.more, false);
        assert.equal(r.next_reason, 'done');
      }
    });
    // A duplicated seed must not start a second chain: the run id is the
    // seed's request id.
    assert.equal(runId, lam.invocations[0].requestId);
  });

  test('a sandbox initialises once and then serves invocation after invocation', () => {
    const sandboxes = new Set(lam.invocations.map((i) => i.sandbox));
    assert.ok(sandboxes.size < lam.invocations.length, 'warm sandboxes were reused');
    const ready = logEvents(lam).filter((e) => e.event === 'lambda_runtime_ready');
    assert.equal(ready.length, lam.exits.length, 'one start-up per sandbox');
    assert.equal(ready[0].batch_size, 40);
  });

  test('self-invocations are signed Event invocations carrying cursor, batch_id+1 and run_id, without the trace header', () => {
    const si = lam.selfInvocations;
    assert.equal(si.length, 6);
    const runId = ok(lam)[0].response.run_id;
    si.forEach((s, i) => {
      assert.equal(s.status, 202, s.error);
      assert.equal(s.type, 'Event');
      assert.equal(s.traceHeader, null, 'the X-Ray trace header is not forwarded (recursive loop detection)');
      assert.match(s.headers.authorization, /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/lambda\/aws4_request/);
      assert.deepEqual(s.payload, {
        start_after: keys[40 * i + 39],
        batch_id: i + 1,
        run_id: runId,
        chain_batches: i + 1,
      });
    });
  });

  test('claims mark each hand-over; the last one records the end', async () => {
    const runId = ok(lam)[0].response.run_id;
    const objs = (await s3.list('dst', `plain/metadata/_chain/${runId}/`)).map((o) => o.Key.split('/').pop()).sort();
    const want = [];
    for (let b = 0; b <= 6; b++) want.push(`batch_00000${b}.started`);
    for (let b = 1; b <= 7; b++) want.push(`batch_00000${b}.claim`);
    assert.deepEqual(objs, want.sort());
    const last = JSON.parse((await s3.get('dst', `plain/metadata/_chain/${runId}/batch_000007.claim`)).body);
    assert.equal(last.more, false);
    assert.equal(last.invoke, false);
    assert.equal(last.reason, 'done');
    assert.equal(last.last_key, keys[N - 1]);
    assert.equal(last.pdfs, 10);
  });

  test("the template's IAM policy allows exactly the actions the function used", () => {
    const t = loadTemplate();
    const params = {
      SourceBucket: 'src',
      PdfPrefix: 'pdfs/',
      DestBucket: 'dst',
      ImagePrefix: 'plain/images/',
      MetadataPrefix: 'plain/metadata/',
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': '123456789012',
      'AWS::StackName': 'bpecg',
      KmsKeyArn: '',
    };
    const fn = t.Resources.EtlFunction.Properties;
    const statements = resolveCfn(fn.Policies, params, { UseKms: false }).flatMap((p) => p.Statement);
    // What the code did, as IAM sees it.
    const used = [];
    for (const e of s3.verifier.log.slice(logFrom, logTo)) {
      const [, bucket, key = ''] = /^\/([^/]+)\/?(.*)$/.exec(e.rawPath);
      if (e.method === 'GET' && !key && e.query['list-type'] === '2')
        used.push({ action: 's3:ListBucket', arn: `arn:aws:s3:::${bucket}`, prefix: e.query.prefix ?? '' });
      else if ((e.method === 'GET' || e.method === 'HEAD') && key) used.push({ action: 's3:GetObject', arn: `arn:aws:s3:::${bucket}/${decodeURIComponent(key)}` });
      else if (e.method === 'PUT' && key) used.push({ action: 's3:PutObject', arn: `arn:aws:s3:::${bucket}/${decodeURIComponent(key)}` });
      else assert.fail(`unexpected S3 request ${e.method} ${e.rawPath}`);
    }
    for (const s of lam.selfInvocations) used.push({ action: 'lambda:InvokeFunction', arn: 'arn:aws:lambda:us-east-1:123456789012:function:bpecg-etl' });
    // The stack "bpecg" names its function bpecg-etl, as the emulator's.
    const allows = (u) =>
      statements.some((s) => {
        const actions = [].concat(s.Action);
        const resources = [].concat(s.Resource);
        if (s.Effect !== 'Allow' || !actions.includes(u.action) || !resources.some((r) => arnMatches(r, u.arn))) return false;
        const like = s.Condition?.StringLike?.['s3:prefix'];
        return !like || (u.prefix !== undefined && arnMatches(like, u.prefix));
      });
    const denied = used.filter((u) => !allows(u));
    assert.deepEqual(denied, [], 'requests the policy would deny');
    // And nothing more: every granted action is used, except the on-failure
    // destination (Lambda itself sends to it) and KMS (off here).
    const usedActions = new Set(used.map((u) => u.action));
    const granted = new Set(statements.flatMap((s) => [].concat(s.Action)));
    assert.deepEqual([...granted].filter((a) => !usedActions.has(a)).sort(), ['sqs:SendMessage']);
    assert.deepEqual([...usedActions].filter((a) => !granted.has(a)), []);
    // With a KMS key, exactly the two KMS actions SSE-KMS needs appear.
    const kms = resolveCfn(fn.Policies, { ...params, KmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k' }, { UseKms: true })
      .flatMap((p) => p.Statement)
      .filter((s) => [].concat(s.Action).some((a) => a.startsWith('kms:')));
    assert.equal(kms.length, 1);
    assert.deepEqual([].concat(kms[0].Action).sort(), ['kms:Decrypt', 'kms:GenerateDataKey']);
    assert.equal(kms[0].Resource, 'arn:aws:kms:us-east-1:123456789012:key/k');
  });
});

describe('duplicate deliveries do not fork the chain', () => {
  let lam, rows;
  before(async () => {
    let n = 0;
    lam = await chain('dups', {
      // Every event twice: alternately at once (two sandboxes race) and a
      // little later (after the first has committed).
      emu: { maxSandboxes: 3, duplicate: () => (n++ % 2 ? 'later' : 'concurrent'), duplicateDelayMs: 1500 },
    });
    ({ rows } = await resultRows(s3, 'dst', 'dups/metadata/'));
  });

  test('every PDF gets exactly one row', () => {
    assertExactlyOnce(rows, keys, 'duplicated events');
  });

  test('each batch is committed once and its cursor never diverges', () => {
    const committed = ok(lam)
      .map((i) => i.response)
      .filter((r) => !r.duplicate);
    assert.deepEqual(committed.map((r) => r.batch_id).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6], explain(lam));
    const dups = ok(lam).filter((i) => i.response.duplicate);
    assert.ok(dups.length >= 7, `every event was delivered twice: ${dups.length} duplicates answered`);
    // Every invocation of batch N+1, whoever made it, carries the same cursor.
    const byBatch = new Map();
    for (const s of lam.selfInvocations) {
      const c = byBatch.get(s.payload.batch_id) ?? new Set();
      c.add(s.payload.start_after);
      byBatch.set(s.payload.batch_id, c);
    }
    for (const [b, cursors] of byBatch) assert.equal(cursors.size, 1, `batch ${b} was invoked with different cursors`);
    assert.deepEqual([...byBatch.keys()].sort(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(errors(lam), [], explain(lam));
  });
});

// A stalled GET answers nothing until the client gives up: a network that
// is slow in a way no CPU speed changes, so deadlines cut batches short.
function slowGets(rate) {
  s3.faults.setMode('faults', {
    rate,
    kinds: ['stall'],
    stallMs: 150,
    seed: 7,
    only: ({ method, path }) => method === 'GET' && /\/src\/.*\.pdf$/.test(path),
  });
}

describe('deadlines cut batches short and the cursor hands on exactly', () => {
  for (const variant of ['alone', 'with duplicates']) {
    describe(variant, () => {
      let lam, rows;
      before(async () => {
        slowGets(0.35);
        let n = 0;
        try {
          lam = await chain(`cut-${variant === 'alone' ? 'a' : 'd'}`, {
            env: { CONCURRENCY: '1', DEADLINE_MARGIN_MS: '3000', RETRY_MAX_ATTEMPTS: '8', RETRY_INITIAL_WAIT: '0.02', RETRY_MAX_WAIT: '0.1' },
            emu: {
              timeoutMs: 4800,
              maxSandboxes: 2,
              duplicate: variant === 'alone' ? null : () => (n++ % 3 === 0 ? 'concurrent' : n % 3 === 1 ? 'later' : false),
              duplicateDelayMs: 800,
            },
          });
        } finally {
          s3.faults.setMode('pass');
        }
        ({ rows } = await resultRows(s3, 'dst', `cut-${variant === 'alone' ? 'a' : 'd'}/metadata/`));
      });

      test('every PDF gets exactly one row', () => {
        assertExactlyOnce(rows, keys, `deadline cuts (${variant})`);
        for (const r of rows) assert.equal(r.status, 'success', `${r.source_key}: ${r.error_type}`);
      });

      test('cut batches hand on the key of their last row; no invocation timed out', () => {
        const res = ok(lam)
          .map((i) => i.response)
          .filter((r) => !r.duplicate);
        const cut = res.filter((r) => r.deadline_cut);
        assert.ok(cut.length >= 3, `batches cut by the deadline: ${cut.length}\n${explain(lam)}`);
        for (const r of cut) {
          assert.ok(r.pdfs > 0 && r.pdfs < 40, `a cut batch has 1..39 PDFs, got ${r.pdfs}`);
          assert.equal(r.next_start_after, r.last_key);
          assert.equal(r.more, true);
        }
        assert.ok(res.length > 7, `${res.length} batches`);
        assert.deepEqual(
          res.map((r) => r.batch_id).sort((a, b) => a - b),
          res.map((_, i) => i),
        );
        assert.equal(lam.invocations.filter((i) => i.timedOut).length, 0, explain(lam));
        assert.equal(lam.deadLetters.length, 0);
      });
    });
  }
});

describe('a worker stuck past the hard deadline', () => {
  let lam, rows;
  const stuck = 'few/ecg_00005.pdf';
  before(async () => {
    // One PDF's download hangs (longer than the function's timeout).
    s3.faults.setMode('faults', {
      rate: 1,
      kinds: ['stall'],
      stallMs: 60000,
      only: ({ method, path }) => method === 'GET' && path === `/src/${stuck}`,
    });
    try {
      lam = await chain('stuck', {
        prefix: 'few/',
        env: { BATCH_SIZE: '20', DEADLINE_MARGIN_MS: '4000', RETRY_MAX_ATTEMPTS: '1' },
        emu: { timeoutMs: 6000 },
      });
    } finally {
      s3.faults.setMode('pass');
    }
    ({ rows } = await resultRows(s3, 'dst', 'stuck/metadata/'));
  });

  test('is recorded as timeout and every other PDF still gets its row', () => {
    assertExactlyOnce(rows, few, 'stuck worker');
    const r = rows.find((x) => x.source_key === stuck);
    assert.equal(r.status, 'failed');
    assert.equal(r.error_type, 'timeout');
    assert.equal(rows.filter((x) => x.status !== 'success').length, 1);
  });

  test('the sandbox responds, then exits so Lambda recycles it', () => {
    const first = ok(lam).find((i) => i.response.batch_id === 0);
    assert.ok(first, explain(lam));
    assert.equal(first.response.timeouts.abandoned, 1);
    assert.equal(first.response.counts.failed, 1);
    assert.equal(first.response.next_invoked, true);
    const exit = lam.exits.find((e) => e.sandbox === first.sandbox);
    assert.ok(exit, 'the sandbox process exited');
    assert.equal(exit.code, 0);
    assert.equal(exit.duringInvocation, false, 'it exited after responding');
    assert.equal(exit.timedOut, false, 'before Lambda had to kill it');
    // The next batches ran in a fresh sandbox.
    const later = ok(lam).filter((i) => i.response.batch_id > 0);
    assert.ok(later.length >= 2);
    assert.ok(later.every((i) => i.sandbox !== first.sandbox));
    assert.equal(errors(lam).length, 0, explain(lam));
  });
});

describe('the chain stops on its brakes', () => {
  test('MAX_CHAIN_BATCHES ends the chain and says where it stopped', async () => {
    const lam = await chain('maxb', { prefix: 'few/', env: { BATCH_SIZE: '10', MAX_CHAIN_BATCHES: '2' } });
    const res = ok(lam).map((i) => i.response);
    assert.equal(res.length, 2, explain(lam));
    assert.equal(res[1].next_invoked, false);
    assert.equal(res[1].next_reason, 'max_chain_batches');
    assert.equal(res[1].next_start_after, few[19]);
    assert.equal(lam.selfInvocations.length, 1);
    const { rows } = await resultRows(s3, 'dst', 'maxb/metadata/');
    assertExactlyOnce(rows, few.slice(0, 20), 'MAX_CHAIN_BATCHES=2');
  });

  test('a kill switch placed mid-chain stops it before the next batch', async () => {
    // Batch 2 is delivered only once the switch is in place.
    const lam = await chain('kill', {
      prefix: 'few/',
      env: { BATCH_SIZE: '10' },
      emu: { gate: (p) => (p.batch_id === 2 ? s3.put('dst', 'kill/metadata/_chain/STOP', 'stop') : undefined) },
    });
    const res = ok(lam).map((i) => i.response);
    assert.equal(res.length, 3, explain(lam));
    assert.deepEqual(res.map((r) => r.pdfs), [10, 10, 0]);
    assert.equal(res[2].next_reason, 'kill_switch');
    assert.equal(res[2].note, 'kill/metadata/_chain/STOP');
    assert.equal(res[2].next_invoked, false);
    assert.equal(lam.selfInvocations.length, 2);
    const { rows } = await resultRows(s3, 'dst', 'kill/metadata/');
    assertExactlyOnce(rows, few.slice(0, 20), 'kill switch');
  });

  test('a kill switch that appears while a batch runs stops the hand-over', async () => {
    let placed = null;
    // The first download of batch 1 places a per-run switch.
    s3.faults.setMode('faults', {
      rate: 0,
      only: ({ method, path }) => {
        if (!placed && method === 'GET' && path === '/src/few/ecg_00010.pdf') placed = s3.put('dst', 'kill2/metadata/_chain/runk/STOP', 'stop');
        return false;
      },
    });
    let lam;
    try {
      lam = await chain('kill2', { prefix: 'few/', env: { BATCH_SIZE: '10', CONCURRENCY: '1' }, seed: { run_id: 'runk' } });
    } finally {
      s3.faults.setMode('pass');
    }
    await placed;
    const res = ok(lam).map((i) => i.response);
    assert.equal(res.length, 2, explain(lam));
    assert.equal(res[1].pdfs, 10, 'batch 1 finished and wrote its rows');
    assert.equal(res[1].next_invoked, false);
    assert.equal(res[1].next_reason, 'kill_switch');
    const claim = JSON.parse((await s3.get('dst', 'kill2/metadata/_chain/runk/batch_000002.claim')).body);
    assert.equal(claim.invoke, false);
    assert.equal(claim.start_after, few[19]);
  });
});

describe('a crash between claim and results, and a lost next invocation', () => {
  test('a redelivery redoes exactly the claimed keys and re-invokes only what never started', async () => {
    const lam0 = await chain('crash', { prefix: 'few/', env: { BATCH_SIZE: '10' }, seed: { run_id: 'runc' } });
    assert.equal(ok(lam0).length, 6, explain(lam0));
    // As if batch 2's winner died after its claim: no results, and batch 3
    // never started.
    const del = (k) => s3.sdk.send(new DeleteObjectCommand({ Bucket: 'dst', Key: k }));
    await del('crash/metadata/batch_000002.parquet');
    await del('crash/metadata/_chain/runc/batch_000003.started');
    const claim = JSON.parse((await s3.get('dst', 'crash/metadata/_chain/runc/batch_000003.claim')).body);

    const lam = await startLambdaEmulator({
      bin: BIN,
      env: functionEnv(s3, { PDF_PREFIX: 'few/', IMAGE_PREFIX: 'crash/images/', METADATA_PREFIX: 'crash/metadata/', BATCH_SIZE: '10' }),
      credentials: { [s3.accessKeyId]: s3.secretAccessKey },
    });
    try {
      // The retry of batch 2's event.
      const r = await lam.invoke({ run_id: 'runc', batch_id: 2, start_after: claim.prev_start_after, chain_batches: 2 });
      assert.ok(r.response, JSON.stringify(r.error));
      assert.equal(r.response.duplicate, true);
      assert.equal(r.response.recovered, true);
      assert.equal(r.response.pdfs, 10);
      assert.equal(r.response.last_key, few[29]);
      assert.equal(r.response.next_invoked, true, 'batch 3 never started: invoked again');
      await lam.idle();
      // Batch 3 saw its own claim (of batch 4) and that batch 4 had
      // started: nothing ran twice further down.
      const b3 = ok(lam).find((i) => i.response.batch_id === 3);
      assert.equal(b3.response.duplicate, true);
      assert.equal(b3.response.next_invoked, false);
      assert.equal(b3.response.next_reason, 'already_started');
      assert.equal(lam.selfInvocations.length, 1);
    } finally {
      await lam.stop();
    }
    const { rows } = await resultRows(s3, 'dst', 'crash/metadata/');
    assertExactlyOnce(rows, few, 'after recovery');
  });
});
