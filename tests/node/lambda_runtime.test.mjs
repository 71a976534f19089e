// The custom runtime's side of the Runtime API, on the emulator: init
// errors, malformed events, an API that answers 500, and
// `bpecg-etl invoke`, which runs the handler once without Lambda.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startLambdaEmulator } from './lambda_emulator.mjs';
import { BIN, cleanEnv, query, samples } from './lambda_helpers.mjs';
import { tempDir } from './s3_fixture.mjs';

// Local directories are enough here: SOURCE_BUCKET/DEST_BUCKET may be
// directories, and these tests are about the runtime, not S3.
let work, src;
before(() => {
  work = tempDir('bpecg-lambda-rt-');
  src = path.join(work, 'src');
  fs.mkdirSync(path.join(src, 'pdfs'), { recursive: true });
  const dir = samples(12);
  for (const f of fs.readdirSync(dir).sort().slice(0, 12)) fs.copyFileSync(path.join(dir, f), path.join(src, 'pdfs', f));
});

function env(extra = {}) {
  return {
    ...cleanEnv(),
    SOURCE_BUCKET: src,
    DEST_BUCKET: path.join(work, 'dst'),
    BATCH_SIZE: '5',
    CONCURRENCY: '2',
    DEADLINE_MARGIN_MS: '4000',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

// Each emulator writes its own results prefix: these runs start at batch
// 0 from different keys, and no batch may replace another key range's
// results file (BatchExists).
let emulators = 0;
async function emulator(o = {}) {
  const { env: e = {}, ...rest } = o;
  const meta = { METADATA_PREFIX: `m${++emulators}/metadata/` };
  return startLambdaEmulator({ bin: BIN, env: env({ ...meta, ...e }), credentials: { AKIDTEST: 'secret' }, maxSandboxes: 1, ...rest });
}

describe('init errors', () => {
  const cases = [
    [{ BATCH_SIZE: '0' }, 'BATCH_SIZE=0: must be an integer from 1 to 1000'],
    [{ DEADLINE_MARGIN_MS: 'soon' }, 'DEADLINE_MARGIN_MS=soon: must be an integer from 100 to 900000'],
    [{ KILL_SWITCH_KEY: '../stop' }, 'KILL_SWITCH_KEY=../stop: must be an object key'],
    [{ SOURCE_BUCKET: '' }, 'no source: give --source URL or SOURCE_BUCKET'],
  ];
  for (const [bad, message] of cases) {
    test(`${Object.keys(bad)[0]}: reported on /runtime/init/error, then the runtime exits`, async () => {
      const lam = await emulator({ env: bad, asyncRetries: 0 });
      let r;
      try {
        r = await lam.invoke({});
        await lam.idle(30000);
      } finally {
        await lam.stop();
      }
      assert.equal(lam.initErrors.length, 1, lam.logs());
      const e = lam.initErrors[0];
      assert.equal(e.errorType, 'Runtime.ConfigInvalid');
      assert.equal(e.body.errorType, 'Runtime.ConfigInvalid');
      assert.ok(e.body.errorMessage.startsWith(message), e.body.errorMessage);
      assert.deepEqual(e.body.stackTrace, []);
      // The invocation that started the sandbox fails with the init error.
      assert.equal(r.error.errorType, 'Runtime.ConfigInvalid');
      assert.equal(lam.exits.length, 1);
      assert.equal(lam.exits[0].code, 2);
      assert.equal(lam.protocolErrors.length, 0);
    });
  }
});

describe('malformed events', () => {
  let lam;
  before(async () => {
    lam = await emulator();
  });
  after(async () => {
    await lam?.stop();
  });
  const cases = [
    ['[1', /^the event is not valid JSON: .*\(line 1, column 2\)$/],
    ['"just a string"', /^the event must be a JSON object$/],
    ['{"startAfter": "pdfs/x.pdf"}', /^unknown member "startAfter": a chain event has start_after, batch_id and run_id/],
    ['{"batch_id": -1}', /^batch_id must be an integer >= 0$/],
    ['{"batch_id": "7"}', /^batch_id must be an integer >= 0$/],
    ['{"start_after": 5}', /^start_after must be a string or null$/],
    ['{"run_id": "../x"}', /^run_id must be 1 to 64 characters from A-Z a-z 0-9 _ \. -/],
    ['{"a": 1, "a": 2}', /^the event is not valid JSON: duplicate object key/],
  ];
  for (const [text, want] of cases) {
    test(`${text} -> an InvalidEvent error response`, async () => {
      const r = await lam.invoke(Buffer.from(text));
      assert.ok(r.error, JSON.stringify(r.response));
      assert.equal(r.error.errorType, 'InvalidEvent');
      assert.equal(r.error.header, 'InvalidEvent', 'Lambda-Runtime-Function-Error-Type');
      assert.match(r.error.errorMessage, want);
      assert.deepEqual(r.error.stackTrace, []);
    });
  }
  test('the sandbox keeps serving events after them', async () => {
    const r = await lam.invoke({ run_id: 'after-bad', start_after: 'pdfs/ecg_00009.pdf' });
    assert.ok(r.response, JSON.stringify(r.error));
    assert.equal(r.response.pdfs, 2);
    assert.deepEqual(lam.exits, []);
    assert.equal(new Set(lam.invocations.map((i) => i.sandbox)).size, 1);
  });
});

describe('shutdown', () => {
  test('SIGTERM between invocations: the runtime exits 0 within the grace period', async () => {
    const lam = await emulator();
    let r;
    try {
      r = await lam.invoke({ run_id: 'shutdown', start_after: 'pdfs/ecg_00010.pdf' });
    } finally {
      await lam.stop(); // SIGTERM, then SIGKILL after 500 ms
    }
    assert.ok(r.response, JSON.stringify(r.error));
    assert.equal(lam.exits.length, 1, lam.logs());
    assert.equal(lam.exits[0].signal, null, `killed by ${lam.exits[0].signal}: it did not exit on SIGTERM`);
    assert.equal(lam.exits[0].code, 0, lam.logs());
  });
});

describe('the Runtime API answering 500', () => {
  test('on /next after an invocation: the runtime exits promptly', async () => {
    const lam = await emulator({ nextStatus: (sb) => (sb.nexts >= 2 ? 500 : undefined) });
    try {
      // A batch that invokes nothing after it.
      const r = await lam.invoke({ Items: [{ Key: 'pdfs/ecg_00000.pdf' }] });
      assert.ok(r.response, JSON.stringify(r.error));
      const t0 = Date.now();
      while (!lam.exits.length && Date.now() - t0 < 10000) await new Promise((res) => setTimeout(res, 20));
    } finally {
      await lam.stop();
    }
    assert.equal(lam.exits.length, 1, 'the runtime exited');
    assert.equal(lam.exits[0].code, 3);
    assert.ok(lam.exits[0].msAfter500 < 2000, `${lam.exits[0].msAfter500} ms after the 500`);
  });

  test('on the first /next: it exits without handling anything', async () => {
    const lam = await emulator({ nextStatus: () => 500, asyncRetries: 0 });
    let r;
    try {
      r = await lam.invoke({});
    } finally {
      await lam.stop();
    }
    assert.equal(r.error.errorType, 'Runtime.ExitError');
    assert.equal(lam.exits[0].code, 3);
    assert.ok(lam.exits[0].msAfter500 < 2000);
  });
});

describe('the deadline header', () => {
  test('less time than DEADLINE_MARGIN_MS is a clear error, not an empty batch handed on forever', async () => {
    const lam = await emulator({ timeoutMs: 3000, env: { DEADLINE_MARGIN_MS: '5000' } });
    let r;
    try {
      r = await lam.invoke({ run_id: 'short' });
    } finally {
      await lam.stop();
    }
    assert.equal(r.error?.errorType, 'DeadlineTooShort', JSON.stringify(r));
    assert.match(r.error.errorMessage, /raise the function's timeout or lower DEADLINE_MARGIN_MS/);
    assert.equal(fs.existsSync(path.join(work, 'dst', 'metadata', '_chain', 'short', 'batch_000001.claim')), false);
  });
});

describe('bpecg-etl invoke', () => {
  const dst = () => path.join(work, 'inv');
  const invoke = (args, extra = {}, input) =>
    spawnSync(BIN, ['invoke', ...args], { env: env({ DEST_BUCKET: dst(), ...extra }), input, encoding: 'utf8' });

  test('runs one batch of a chain locally and prints the response', async () => {
    const r = invoke(['--event', '{"run_id": "local1"}']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.batch_id, 0);
    assert.equal(res.pdfs, 5);
    assert.equal(res.next_start_after, 'pdfs/ecg_00004.pdf');
    assert.equal(res.more, true);
    assert.equal(res.next_invoked, false);
    assert.equal(res.next_reason, 'no_function_name');
    const rows = await query(`SELECT source_key FROM read_parquet('${dst()}/metadata/batch_000000.parquet') ORDER BY 1`);
    assert.deepEqual(
      rows.map((x) => x.source_key),
      [0, 1, 2, 3, 4].map((i) => `pdfs/ecg_0000${i}.pdf`),
    );
  });

  test('continues from the printed cursor (event from stdin)', () => {
    const r = invoke(['--event-file', '-'], {}, '{"run_id": "local1", "batch_id": 1, "start_after": "pdfs/ecg_00004.pdf"}');
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.pdfs, 5);
    assert.equal(res.last_key, 'pdfs/ecg_00009.pdf');
  });

  test('takes Distributed Map and S3 events too', () => {
    const r = invoke(['--event', JSON.stringify({ Items: [{ Key: 'pdfs/ecg_00011.pdf', Index: 11 }], BatchInput: { run_id: 'dm' } })]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).parquet_key, 'metadata/batch_000011.parquet');
  });

  test('with EXTRACT_WAVEFORMS the response names the waveform file too', () => {
    const r = invoke(['--event', JSON.stringify({ Items: [{ Key: 'pdfs/ecg_00010.pdf', Index: 10 }], BatchInput: { run_id: 'wf' } })], { EXTRACT_WAVEFORMS: '1' });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.parquet_key, 'metadata/batch_000010.parquet');
    assert.equal(res.waveform_key, 'waveforms/batch_000010.parquet');
    assert.ok(fs.statSync(`${dst()}/waveforms/batch_000010.parquet`).size > 0);
  });

  test('a malformed event prints the error document and exits 2', () => {
    const r = invoke(['--event', '{"Items": {}}']);
    assert.equal(r.status, 2);
    const e = JSON.parse(r.stdout);
    assert.equal(e.errorType, 'InvalidEvent');
    assert.match(e.errorMessage, /Items must be an array/);
  });

  test('usage errors', () => {
    let r = invoke([]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give the event with --event JSON or --event-file PATH/);
    r = invoke(['--event', '{}', '--timeout-ms', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--timeout-ms=0: must be an integer from 1 to 900000/);
    r = invoke(['--event', '{}', '--batch-size', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--batch-size=0: must be an integer from 1 to 1000/);
  });
});

describe('bpecg-etl lambda', () => {
  test('outside Lambda it says what it is for; as bootstrap it is the same runtime', () => {
    let r = spawnSync(BIN, ['lambda'], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /AWS_LAMBDA_RUNTIME_API is not set/);
    r = spawnSync(BIN, [], { argv0: 'bootstrap', env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /AWS_LAMBDA_RUNTIME_API is not set/);
  });
});
