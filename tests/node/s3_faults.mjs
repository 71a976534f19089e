// A fault-injecting HTTP proxy for S3 traffic: it sits between the client
// under test (bpecg-etl) and the verifying proxy, and for a chosen share of
// requests fails them the ways S3 and networks fail.
//
// Modes (setMode):
//   'pass'    forward everything (counting requests and connections)
//   'faults'  each request fails with probability `rate`, in one of `kinds`
//             (seeded PRNG: with one request at a time a run is repeatable)
//   'deny'    every request gets 403 AccessDenied (a permanent failure)
//   'tamper'  flip one hex digit of the Authorization signature, then
//             forward (the verifying proxy must answer 403)
//
// Fault kinds:
//   slowdown  503 SlowDown with S3's XML body (request not forwarded)
//   internal  500 InternalError (not forwarded)
//   reset     the connection is destroyed as soon as the request arrives
//   stall     no response at all until the client gives up, or stallMs
//             (then the socket is destroyed), or stop()
//   stallbody forwarded; headers and half the body are sent, then it
//             stalls like `stall` (a GET whose download stops mid-way)
//   truncate  forwarded; the response declares its full Content-Length but
//             only half the body is sent before the connection closes (an
//             empty body: 1 byte declared, none sent), so a PUT may well
//             have been stored though the client saw a failure
//   error200  a bucket listing answered 200 with an XML <Error> body
//             (InternalError), as S3 may do for some operations; only
//             applied to listings: a GetObject's 200 body is the object
//
// Which kind: drawn at random, or with `cycle` the next one in `kinds` that
// applies to the request (so a few faults already cover every kind). The
// seeded PRNG decides which requests fail: one draw per request, in arrival
// order, so a run with a fixed number of requests fails the same number.
// `only` (a function of {method, path, query}) restricts faults to some
// requests; `limit` stops injecting after that many faults. Stats count requests, TCP connections, faults per kind, the
// requests in flight at most, and keep a log of {method, path, kind,
// status}.
import http from 'node:http';

import { errorXml } from './s3_verify.mjs';

export const FAULT_KINDS = ['slowdown', 'internal', 'reset', 'stall', 'stallbody', 'truncate', 'error200'];

// mulberry32: a tiny seeded PRNG.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isListing = (method, path) => method === 'GET' && /^\/[^/?]+\/?$/.test(path);

/**
 * @param {object} o
 * @param {string} o.upstream base URL requests are forwarded to
 * @param {string} [o.mode] 'pass' | 'faults' | 'deny' | 'tamper'
 * @param {number} [o.rate] share of requests that fail in 'faults' mode
 * @param {string[]} [o.kinds] fault kinds to draw from
 * @param {number} [o.seed]
 * @param {number} [o.stallMs] how long a stall lasts at most
 * @param {boolean} [o.cycle] take kinds in turn instead of at random
 * @param {number} [o.limit] inject at most this many faults
 * @param {(r: {method: string, path: string, query: string}) => boolean} [o.only]
 */
export async function startFaultProxy(o) {
  const up = new URL(o.upstream);
  // Idle connections are dropped before the verifier's keep-alive timeout
  // (20 s) could close them under a new request.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 10000 });
  let cfg;
  let rand;
  let next; // position in kinds when cycling
  const stalled = new Set();
  let stats;

  function reset() {
    stats = { requests: 0, connections: 0, faults: 0, byKind: {}, inFlight: 0, maxInFlight: 0, log: [] };
  }
  function setMode(mode, opts = {}) {
    cfg = {
      mode,
      rate: opts.rate ?? 0.2,
      kinds: opts.kinds ?? FAULT_KINDS,
      stallMs: opts.stallMs ?? 30000,
      only: opts.only ?? null,
      cycle: opts.cycle ?? false,
      limit: opts.limit ?? Infinity,
    };
    next = 0;
    for (const k of cfg.kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${k}`);
    rand = prng(opts.seed ?? 1);
  }
  reset();
  setMode(o.mode || 'pass', o);

  function pick(req, path) {
    if (cfg.mode === 'deny') return 'deny';
    if (cfg.mode === 'tamper') return 'tamper';
    if (cfg.mode !== 'faults') return 'pass';
    const qi = req.url.indexOf('?');
    if (cfg.only && !cfg.only({ method: req.method, path, query: qi < 0 ? '' : req.url.slice(qi + 1) })) return 'pass';
    if (stats.faults >= cfg.limit) return 'pass';
    if (rand() >= cfg.rate) return 'pass';
    const applies = (k) => {
      if (k === 'error200') return isListing(req.method, path);
      if (k === 'stallbody') return req.method === 'GET';
      return true;
    };
    if (cfg.cycle) {
      for (let i = 0; i < cfg.kinds.length; i++) {
        const k = cfg.kinds[(next + i) % cfg.kinds.length];
        if (applies(k)) {
          next = (next + i + 1) % cfg.kinds.length;
          return k;
        }
      }
      return 'pass';
    }
    const usable = cfg.kinds.filter(applies);
    if (!usable.length) return 'pass';
    return usable[Math.floor(rand() * usable.length)];
  }

  function stall(req, res) {
    const sock = req.socket;
    const timer = setTimeout(() => sock.destroy(), cfg.stallMs);
    const entry = { sock, timer };
    stalled.add(entry);
    sock.once('close', () => {
      clearTimeout(timer);
      stalled.delete(entry);
    });
  }

  function xmlReply(res, status, code, message) {
    const xml = errorXml(code, message);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  // Forward the request; `onResponse(upRes, body)` gets the whole upstream
  // response (buffered) when the kind needs to cut it, else it is streamed.
  function forward(req, res, headers, buffered) {
    return new Promise((resolve, reject) => {
      const upReq = http.request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent },
        (upRes) => {
          if (!buffered) {
            res.writeHead(upRes.statusCode, upRes.headers);
            upRes.pipe(res);
            upRes.on('end', () => resolve(upRes.statusCode));
            upRes.on('error', reject);
            return;
          }
          const chunks = [];
          upRes.on('data', (c) => chunks.push(c));
          upRes.on('end', () => buffered(upRes, Buffer.concat(chunks), resolve));
          upRes.on('error', reject);
        },
      );
      upReq.on('error', reject);
      req.pipe(upReq);
    });
  }

  async function handle(req, res) {
    const qi = req.url.indexOf('?');
    const path = qi < 0 ? req.url : req.url.slice(0, qi);
    const kind = pick(req, path);
    const entry = { method: req.method, path, kind, status: 0 };
    stats.requests++;
    stats.log.push(entry);
    if (stats.log.length > 50000) stats.log.splice(0, 10000);
    if (kind !== 'pass' && kind !== 'tamper') {
      stats.faults++;
      stats.byKind[kind] = (stats.byKind[kind] || 0) + 1;
    }
    const headers = { ...req.headers };
    switch (kind) {
      case 'deny':
        req.resume();
        await new Promise((r) => req.on('end', r));
        entry.status = 403;
        return xmlReply(res, 403, 'AccessDenied', 'Access Denied');
      case 'slowdown':
      case 'internal':
        req.resume();
        await new Promise((r) => req.on('end', r));
        entry.status = kind === 'slowdown' ? 503 : 500;
        return kind === 'slowdown'
          ? xmlReply(res, 503, 'SlowDown', 'Please reduce your request rate.')
          : xmlReply(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        req.resume();
        return stall(req, res);
      case 'error200':
        req.resume();
        await new Promise((r) => req.on('end', r));
        entry.status = 200;
        {
          const xml = errorXml('InternalError', 'We encountered an internal error. Please try again.');
          res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
          return res.end(xml);
        }
      case 'tamper': {
        const m = /Signature=([0-9a-f])/.exec(headers.authorization || '');
        if (m) {
          const flipped = m[1] === '0' ? '1' : '0';
          headers.authorization = headers.authorization.replace(/Signature=[0-9a-f]/, `Signature=${flipped}`);
        }
        break;
      }
      case 'truncate':
      case 'stallbody':
        entry.status = await forward(req, res, headers, (upRes, body, done) => {
          const h = { ...upRes.headers };
          delete h['transfer-encoding'];
          if (req.method === 'HEAD') {
            // A HEAD has no body to cut: the answer is lost instead.
            req.socket.destroy();
            return done(upRes.statusCode);
          }
          h['content-length'] = String(Math.max(body.length, 1));
          res.writeHead(upRes.statusCode, h);
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          if (kind === 'truncate') {
            // Flush what was written, then cut the connection.
            res.socket.end();
            setTimeout(() => res.socket && res.socket.destroy(), 50);
          } else {
            stall(req, res);
          }
          done(upRes.statusCode);
        });
        return;
      default:
        break;
    }
    entry.status = await forward(req, res, headers, null);
  }

  const server = http.createServer((req, res) => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        stats.inFlight--;
      }
    };
    res.on('close', finish);
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', () => stats.connections++);
  // Node's default 5 s would close idle keep-alive connections under the
  // client; S3 keeps them for about 20 s.
  server.keepAliveTimeout = 20000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    setMode,
    get mode() {
      return cfg.mode;
    },
    stats: () => ({ ...stats, byKind: { ...stats.byKind }, log: [...stats.log] }),
    reset,
    async stop() {
      for (const s of stalled) {
        clearTimeout(s.timer);
        s.sock.destroy();
      }
      stalled.clear();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}
