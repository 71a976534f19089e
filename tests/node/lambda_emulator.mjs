// A small AWS Lambda emulator for the tests: the documented Runtime API
// (version 2018-06-01) that a custom runtime's `bootstrap` talks to, and the
// Invoke API (2015-03-31) it calls to queue the next batch, on 127.0.0.1.
//
//   const lam = await startLambdaEmulator({ bin, env, timeoutMs: 30000 });
//   await lam.invoke({}, { type: 'Event' });     // as `aws lambda invoke`
//   await lam.idle();                             // every event settled
//   lam.invocations / lam.selfInvocations / lam.exits / lam.initErrors
//   await lam.stop();
//
// Sandboxes. Each is one process of the real `bootstrap` (spawned with
// argv[0] "bootstrap") with its own Runtime API server, so the process sees
// AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT as on Lambda. Up to maxSandboxes
// run at once; an event waits for a sandbox that asks /next, and a cold
// start begins when none is free (the event that caused it is the first
// the sandbox gets). A sandbox lives until its process exits.
//
// Runtime API, as documented:
//   GET  /runtime/invocation/next -> 200, event as body, headers
//        Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
//        Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id;
//        held open until an event arrives (the runtime must not time out)
//   POST /runtime/invocation/{id}/response -> 202 (400 unknown id, 413 over 6 MB)
//   POST /runtime/invocation/{id}/error    -> 202; errorType from the
//        Lambda-Runtime-Function-Error-Type header and the body
//   POST /runtime/init/error               -> 202; the invocation that
//        caused the cold start fails with it
// `nextStatus(sandbox)` may answer /next with another status (500: the
// runtime must exit promptly; `exits[].msAfter500` measures it).
//
// Deadlines: at Lambda-Runtime-Deadline-Ms the process group is killed
// (Sandbox.Timedout), as Lambda does.
//
// Invoke API: POST /2015-03-31/functions/{name}/invocations, SigV4 checked
// with AWS's own signer (@smithy/signature-v4, service "lambda", path
// double-encoded as for every service but S3); 403 InvalidSignatureException
// otherwise, 404 for another function. X-Amz-Invocation-Type: Event -> 202
// and the event is queued; RequestResponse -> 200 with the response
// (X-Amz-Function-Error on errors).
//
// Asynchronous events are retried `asyncRetries` times after an error or a
// timeout (Lambda: 2, after 1 and 2 minutes; here retryDelayMs), keeping
// their request id; when they still fail they go to `deadLetters` (the
// on-failure destination). `duplicate(event)` may return 'concurrent' or
// 'later' to deliver an async event twice (same request id), as Lambda's
// at-least-once delivery may. `gate(event)` may return a promise that
// holds an async event in the queue until it settles.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';

import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export const ACCOUNT = '123456789012';
const MAX_PAYLOAD = 6 * 1024 * 1024;
const API = '/2018-06-01/runtime';

class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

const children = new Set();
function killGroup(child, signal = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}
process.on('exit', () => {
  for (const c of children) killGroup(c);
});

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function readBody(req, limit = 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function traceId() {
  const t = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${t}-${crypto.randomBytes(12).toString('hex')};Parent=${crypto.randomBytes(8).toString('hex')};Sampled=0`;
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

/**
 * @param {object} o
 * @param {string} o.bin the function's executable (bpecg-etl or an unpacked bootstrap)
 * @param {Record<string,string>} [o.env] the function's environment (settings, S3)
 * @param {number} [o.timeoutMs] the function timeout
 * @param {number} [o.maxSandboxes] concurrent sandboxes (reserved concurrency)
 * @param {number} [o.asyncRetries] retries of a failed async event
 * @param {number} [o.retryDelayMs]
 * @param {(payload: object, ev: object) => false|'concurrent'|'later'} [o.duplicate]
 * @param {number} [o.duplicateDelayMs]
 * @param {(payload: object) => Promise|undefined} [o.gate]
 * @param {(sb: object) => number|undefined} [o.nextStatus]
 * @param {Record<string,string>} [o.credentials] access key id -> secret the Invoke API accepts
 */
export async function startLambdaEmulator(o) {
  const {
    bin,
    env = {},
    functionName = 'bpecg-etl',
    region = 'us-east-1',
    timeoutMs = 60000,
    maxSandboxes = 2,
    asyncRetries = 2,
    retryDelayMs = 1000,
    duplicate = null,
    duplicateDelayMs = 1500,
    nextStatus = null,
    gate = null,
    credentials = {},
  } = o;
  const arn = `arn:aws:lambda:${region}:${ACCOUNT}:function:${functionName}`;
  const queue = [];
  const sandboxes = new Set();
  const timers = new Set();
  let starting = 0;
  let gated = 0;
  let sandboxSeq = 0;
  let idleWaiters = [];
  let stopped = false;

  const lam = {
    arn,
    functionName,
    invocations: [], // settled deliveries
    selfInvocations: [], // Invoke API requests
    initErrors: [],
    exits: [],
    deadLetters: [],
    protocolErrors: [],
  };

  function later(fn, ms) {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function checkIdle() {
    const busy =
      queue.length > 0 ||
      timers.size > 0 ||
      starting > 0 ||
      gated > 0 ||
      [...sandboxes].some((sb) => sb.current || sb.coldEvent);
    if (busy) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const r of w) r();
  }

  // ---- events ----

  function enqueue(ev) {
    queue.push(ev);
    dispatch();
  }

  function newEvent(payload, type, source) {
    let resolve;
    const done = new Promise((r) => (resolve = r));
    return {
      requestId: crypto.randomUUID(),
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)),
      type,
      source,
      attempt: 0,
      copy: false,
      done,
      resolve,
    };
  }

  function acceptAsync(ev) {
    const held = gate ? gate(JSON.parse(ev.payload.toString())) : null;
    if (held && typeof held.then === 'function') {
      gated++;
      held.then(
        () => {
          gated--;
          deliver(ev);
        },
        (e) => {
          gated--;
          lam.protocolErrors.push({ what: `gate failed: ${e}` });
          deliver(ev);
        },
      );
      return;
    }
    deliver(ev);
  }

  function deliver(ev) {
    enqueue(ev);
    const d = duplicate ? duplicate(JSON.parse(ev.payload.toString()), ev) : false;
    if (d) {
      const copy = { ...ev, attempt: 0, copy: true, done: null, resolve: () => {} };
      if (d === 'later') later(() => enqueue(copy), duplicateDelayMs);
      else enqueue(copy);
    }
  }

  function settle(sb, ev, result) {
    let payload;
    try {
      payload = JSON.parse(ev.payload.toString());
    } catch {
      payload = ev.payload.toString();
    }
    const rec = {
      requestId: ev.requestId,
      attempt: ev.attempt,
      copy: ev.copy,
      source: ev.source,
      type: ev.type,
      sandbox: sb ? sb.id : null,
      payload,
      ms: ev.startedAt ? Date.now() - ev.startedAt : 0,
      ...result,
    };
    lam.invocations.push(rec);
    if (ev.type === 'Event' && result.error && ev.attempt <= asyncRetries) {
      later(() => enqueue(ev), retryDelayMs);
    } else {
      if (ev.type === 'Event' && result.error) lam.deadLetters.push(rec);
      ev.resolve(rec);
    }
    checkIdle();
  }

  // ---- sandboxes ----

  function dispatch() {
    if (stopped) return;
    while (queue.length) {
      const sb = [...sandboxes].find((s) => s.pendingNext && !s.current && !s.dead);
      if (sb) {
        assign(sb, queue.shift());
        continue;
      }
      const alive = [...sandboxes].filter((s) => !s.dead).length + starting;
      if (alive >= maxSandboxes) break;
      startSandbox(queue.shift());
    }
    checkIdle();
  }

  function assign(sb, ev) {
    const res = sb.pendingNext;
    sb.pendingNext = null;
    ev.attempt++;
    ev.startedAt = Date.now();
    const deadline = Date.now() + timeoutMs;
    sb.current = { ev, deadline };
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': ev.payload.length,
      'Lambda-Runtime-Aws-Request-Id': ev.requestId,
      'Lambda-Runtime-Deadline-Ms': String(deadline),
      'Lambda-Runtime-Invoked-Function-Arn': arn,
      'Lambda-Runtime-Trace-Id': traceId(),
    });
    res.end(ev.payload);
    sb.timer = setTimeout(() => {
      if (!sb.current || sb.current.ev !== ev) return;
      // The deadline passed without an answer: Lambda stops the sandbox.
      const cur = sb.current;
      sb.current = null;
      sb.timedOut = true;
      killGroup(sb.child);
      settle(sb, cur.ev, {
        error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` },
        timedOut: true,
      });
    }, timeoutMs + 20);
  }

  async function startSandbox(coldEvent) {
    starting++;
    const sb = {
      id: ++sandboxSeq,
      current: null,
      coldEvent,
      pendingNext: null,
      dead: false,
      nexts: 0,
      stderr: '',
      startedAt: Date.now(),
    };
    const server = http.createServer((req, res) => runtimeApi(sb, req, res).catch((e) => send(res, 500, { errorMessage: String(e) })));
    // /next is a long poll: no server-side timeout may end it.
    server.keepAliveTimeout = 0;
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    const port = await listen(server);
    sb.server = server;
    sb.port = port;
    const child = spawn(bin, [], {
      argv0: 'bootstrap',
      cwd: path.dirname(bin),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...env,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048',
        AWS_REGION: env.AWS_REGION || region,
        AWS_ENDPOINT_URL_LAMBDA: lam.endpoint,
        LAMBDA_TASK_ROOT: path.dirname(bin),
        _HANDLER: 'bootstrap',
      },
    });
    sb.child = child;
    children.add(child);
    sandboxes.add(sb);
    starting--;
    child.stdout.on('data', (c) => (sb.stderr += c.toString()));
    child.stderr.on('data', (c) => {
      sb.stderr += c.toString();
      if (sb.stderr.length > 200000) sb.stderr = sb.stderr.slice(-100000);
    });
    child.on('exit', (code, signal) => onExit(sb, code, signal));
    child.on('error', (e) => {
      sb.stderr += String(e);
    });
  }

  function onExit(sb, code, signal) {
    if (sb.dead) return;
    sb.dead = true;
    children.delete(sb.child);
    clearTimeout(sb.timer);
    lam.exits.push({
      sandbox: sb.id,
      code,
      signal,
      timedOut: !!sb.timedOut,
      duringInvocation: !!sb.current,
      msAfter500: sb.got500At ? Date.now() - sb.got500At : null,
      stderr: sb.stderr,
    });
    if (sb.pendingNext) sb.pendingNext.destroy();
    sb.server.close();
    sb.server.closeAllConnections?.();
    sandboxes.delete(sb);
    const ev = sb.current?.ev || sb.coldEvent;
    sb.current = null;
    sb.coldEvent = null;
    if (ev) {
      const init = lam.initErrors.find((e) => e.sandbox === sb.id);
      if (!ev.startedAt) ev.attempt++;
      settle(sb, ev, {
        error: init
          ? { errorType: init.errorType, errorMessage: init.body?.errorMessage }
          : { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${ev.requestId} Error: Runtime exited with ${signal ? 'signal: ' + signal : 'error: exit status ' + code}` },
        exited: true,
      });
    }
    dispatch();
  }

  async function runtimeApi(sb, req, res) {
    const url = req.url;
    if (req.method === 'GET' && url === `${API}/invocation/next`) {
      sb.nexts++;
      const st = nextStatus ? nextStatus(sb) : undefined;
      if (st && st !== 200) {
        sb.got500At = Date.now();
        return send(res, st, { errorMessage: 'the execution environment is shutting down', errorType: 'Runtime.ContainerError' });
      }
      if (sb.current) {
        lam.protocolErrors.push({ sandbox: sb.id, what: '/next while an invocation is unanswered' });
      }
      sb.pendingNext = res;
      req.on('close', () => {
        if (sb.pendingNext === res && !res.writableEnded) sb.pendingNext = null;
      });
      if (sb.coldEvent) {
        const ev = sb.coldEvent;
        sb.coldEvent = null;
        assign(sb, ev);
      } else {
        dispatch();
      }
      return;
    }
    const body = await readBody(req);
    if (req.method === 'POST' && url === `${API}/init/error`) {
      let doc = null;
      try {
        doc = JSON.parse(body.toString());
      } catch {
        /* recorded raw */
      }
      lam.initErrors.push({
        sandbox: sb.id,
        errorType: req.headers['lambda-runtime-function-error-type'] || null,
        body: doc,
        raw: body.toString(),
      });
      return send(res, 202, { status: 'OK' });
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === 'POST' && m) {
      const id = decodeURIComponent(m[1]);
      if (!sb.current || sb.current.ev.requestId !== id) {
        lam.protocolErrors.push({ sandbox: sb.id, what: `${m[2]} for unknown request id ${id}` });
        return send(res, 400, { errorMessage: `Invalid request ID: "${id}"`, errorType: 'InvalidRequestID' });
      }
      if (body.length > MAX_PAYLOAD) return send(res, 413, { errorMessage: 'payload too large', errorType: 'RequestEntityTooLarge' });
      const ev = sb.current.ev;
      clearTimeout(sb.timer);
      sb.current = null;
      send(res, 202, { status: 'OK' });
      let doc;
      try {
        doc = JSON.parse(body.toString());
      } catch {
        doc = { unparsable: body.toString() };
      }
      if (m[2] === 'response') settle(sb, ev, { response: doc });
      else
        settle(sb, ev, {
          error: { ...doc, header: req.headers['lambda-runtime-function-error-type'] || null },
        });
      return;
    }
    send(res, 404, { errorMessage: `no such runtime API resource: ${req.method} ${url}`, errorType: 'NotFound' });
  }

  // ---- Invoke API ----

  async function verifySignature(req, rawPath, body) {
    const auth = req.headers.authorization || '';
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return 'missing or malformed Authorization';
    const [, akid, day, scopeRegion, service, signedList, signature] = m;
    const secret = credentials[akid];
    if (!secret) return `unknown access key ${akid}`;
    if (service !== 'lambda') return `signed for service ${service}, not lambda`;
    if (scopeRegion !== region) return `signed for region ${scopeRegion}, not ${region}`;
    const when = parseAmzDate(req.headers['x-amz-date']);
    if (!when || req.headers['x-amz-date'].slice(0, 8) !== day) return 'bad X-Amz-Date';
    if (Math.abs(Date.now() - when.getTime()) > 15 * 60 * 1000) return 'clock skew';
    const signed = signedList.split(';');
    for (const h of ['host', 'x-amz-date']) if (!signed.includes(h)) return `${h} not signed`;
    const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
    if (unsigned.length) return `unsigned x-amz headers: ${unsigned.join(',')}`;
    const headers = {};
    for (const h of signed) if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname: req.headers.host, path: rawPath, query: {}, headers, body });
    const signer = new SignatureV4({
      credentials: { accessKeyId: akid, secretAccessKey: secret },
      region,
      service: 'lambda',
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: false,
    });
    const ours = await signer.sign(request, { signingDate: when, signableHeaders: new Set(signed) });
    const am = /SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})/.exec(ours.headers.authorization);
    return am[1] === signedList && am[2] === signature ? null : 'signature does not match';
  }

  const invokeServer = http.createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const qi = req.url.indexOf('?');
      const rawPath = qi < 0 ? req.url : req.url.slice(0, qi);
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(rawPath);
      const type = req.headers['x-amz-invocation-type'] || 'RequestResponse';
      const rec = {
        at: Date.now(),
        rawPath,
        type,
        headers: { ...req.headers },
        traceHeader: req.headers['x-amzn-trace-id'] ?? null,
        payload: null,
        status: 0,
        error: null,
      };
      lam.selfInvocations.push(rec);
      const fail = (status, code, message) => {
        rec.status = status;
        rec.error = `${code}: ${message}`;
        send(res, status, { Type: 'User', message }, { 'x-amzn-ErrorType': code });
      };
      if (req.method !== 'POST' || !m) return fail(404, 'UnknownOperationException', `unknown operation ${req.method} ${rawPath}`);
      const why = await verifySignature(req, rawPath, body);
      if (why) return fail(403, 'InvalidSignatureException', why);
      const name = decodeURIComponent(m[1]);
      if (name !== functionName && name !== arn && name !== `${ACCOUNT}:function:${functionName}`)
        return fail(404, 'ResourceNotFoundException', `Function not found: ${name}`);
      try {
        rec.payload = JSON.parse(body.toString());
      } catch {
        return fail(400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      const ev = newEvent(body, type === 'Event' ? 'Event' : 'RequestResponse', 'invoke-api');
      rec.requestId = ev.requestId;
      if (type === 'Event') {
        rec.status = 202;
        send(res, 202, '', { 'x-amzn-RequestId': ev.requestId });
        acceptAsync(ev);
        return;
      }
      if (type !== 'RequestResponse') return fail(400, 'InvalidParameterValueException', `unsupported invocation type ${type}`);
      enqueue(ev);
      const r = await ev.done;
      rec.status = 200;
      send(res, 200, r.response ?? r.error, r.error ? { 'X-Amz-Function-Error': 'Unhandled', 'x-amzn-RequestId': ev.requestId } : { 'x-amzn-RequestId': ev.requestId });
    } catch (e) {
      send(res, 500, { message: String(e) }, { 'x-amzn-ErrorType': 'ServiceException' });
    }
  });
  const invokePort = await listen(invokeServer);
  lam.endpoint = `http://127.0.0.1:${invokePort}`;

  /** Invoke the function from the test, as `aws lambda invoke` would. */
  lam.invoke = (payload, { type = 'RequestResponse' } = {}) => {
    const ev = newEvent(payload, type, 'test');
    if (type === 'Event') {
      acceptAsync(ev);
      return Promise.resolve({ requestId: ev.requestId });
    }
    enqueue(ev);
    return ev.done;
  };

  /** Resolves when no event is queued, running, retrying or duplicated. */
  lam.idle = (limitMs = 600000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the emulator was not idle within ${limitMs} ms; ${lam.describe()}`)), limitMs);
      idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      checkIdle();
    });

  lam.describe = () =>
    `queue ${queue.length}, sandboxes ${[...sandboxes].map((s) => `${s.id}:${s.current ? 'busy' : s.pendingNext ? 'idle' : 'init'}`).join(',')}, timers ${timers.size}`;

  /** Every sandbox's output so far (for failure messages). */
  lam.logs = () =>
    [...lam.exits.map((e) => `--- sandbox ${e.sandbox} (exited ${e.code ?? e.signal})\n${e.stderr}`), ...[...sandboxes].map((s) => `--- sandbox ${s.id} (running)\n${s.stderr}`)].join('\n');

  lam.stop = async () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    // Lambda's shutdown phase: SIGTERM, then SIGKILL after a grace period
    // (500 ms here) for a runtime that is still there.
    for (const sb of sandboxes) {
      clearTimeout(sb.timer);
      killGroup(sb.child, 'SIGTERM');
    }
    await Promise.all(
      [...sandboxes].map(
        (sb) =>
          new Promise((r) => {
            if (sb.dead) return r();
            const grace = setTimeout(() => killGroup(sb.child), 500);
            sb.child.once('exit', () => {
              clearTimeout(grace);
              r();
            });
            setTimeout(r, 3000);
          }),
      ),
    );
    for (const sb of sandboxes) sb.server.close();
    invokeServer.close();
    invokeServer.closeAllConnections?.();
  };

  return lam;
}
