// A verifying proxy in front of s3rver: what S3 checks and s3rver does not.
//
// s3rver accepts any SigV4 signature and ignores If-None-Match, so on its
// own it would pass a client that signs wrongly or overwrites results. This
// proxy checks every request the way S3 does before forwarding it:
//
//  - SigV4 (Authorization header form): the signature is recomputed with
//    AWS's own signer, @smithy/signature-v4, with S3's rules (the path is
//    not normalised and each segment is URI-encoded once: uriEscapePath
//    false on a path decoded and re-encoded here), over exactly the headers
//    named in SignedHeaders, at the request's X-Amz-Date, with the request's
//    x-amz-content-sha256 as the payload hash. Any difference is 403
//    SignatureDoesNotMatch with S3's CanonicalRequest and StringToSign in the
//    body (as S3 sends them), an unknown key 403 InvalidAccessKeyId, no
//    Authorization 403 AccessDenied, an x-amz-* header left out of
//    SignedHeaders 403 AccessDenied, a wrong region / service / date in the
//    scope 400 AuthorizationHeaderMalformed, a clock 15 min off 403
//    RequestTimeTooSkewed, a missing or wrong session token 403 InvalidToken.
//  - x-amz-content-sha256: required; a hex hash must match the body (400
//    XAmzContentSHA256Mismatch); UNSIGNED-PAYLOAD is accepted; aws-chunked
//    STREAMING-* bodies are 501 here (s3rver cannot store them).
//  - Content-MD5 (400 InvalidDigest / BadDigest) and x-amz-checksum-crc32,
//    -crc32c, -sha1, -sha256 (400 BadDigest) against the body.
//  - If-None-Match: * on PUT: 412 PreconditionFailed when the key exists
//    (checked with a HEAD to s3rver under a per-key lock, so two
//    conditional PUTs of one key cannot both succeed); any other value 501.
//  - x-amz-expected-bucket-owner: 403 AccessDenied unless it is the owner.
//  - SSE headers: only on PUT/POST (S3 answers 400 to them on GET/HEAD),
//    x-amz-server-side-encryption AES256 | aws:kms | aws:kms:dsse, the KMS
//    key id only with aws:kms*; echoed in the PUT response as S3 does.
//
// Otherwise the request goes to s3rver unchanged (less its Authorization
// and session token, checked here already: s3rver would look the key up in
// its own one-account table) and its answer comes back unchanged. Request bodies are read whole first (they must be hashed
// before s3rver may store them); responses are streamed.
//
// Every request is recorded in `log` (method, key, query, access key id,
// the headers a test may assert on, status and S3 error code).
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';

import { HttpRequest } from '@smithy/protocol-http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4, getCanonicalHeaders } from '@smithy/signature-v4';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_SKEW_MS = 15 * 60 * 1000;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

const CHECKED_HERE = new Set(['authorization', 'x-amz-security-token']);

class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

export function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

// S3's XML error document.
export function errorXml(code, message, extra = {}) {
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>`;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) x += `<${k}>${xmlEscape(v)}</${k}>`;
  return x + `<RequestId>${crypto.randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
}

// RFC 3986 encoding of one path segment or query component, as SigV4 wants:
// unreserved characters kept, every other UTF-8 byte as %XX upper case.
export function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// S3's canonical URI: the path as the server decodes it (each segment
// percent-decoded; '+' is a plus in a path), each segment encoded once,
// nothing normalised ("a//b", "./" stay).
export function canonicalPath(rawPath) {
  return rawPath
    .split('/')
    .map((seg) => uriEncode(decodeURIComponent(seg)))
    .join('/');
}

// Query parameters as the server reads them: '+' is a space there (s3rver
// reads them so too), repeated names collect into arrays.
export function parseQuery(rawQuery) {
  const q = {};
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
    const k = dec(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : dec(part.slice(eq + 1));
    if (!(k in q)) q[k] = v;
    else q[k] = [].concat(q[k], v);
  }
  return q;
}

// CRC-32C (Castagnoli), for x-amz-checksum-crc32c.
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32c(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC32C_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const be32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
};
const CHECKSUMS = {
  crc32: (b) => be32(zlib.crc32(b)),
  crc32c: (b) => be32(crc32c(b)),
  sha1: (b) => crypto.createHash('sha1').update(b).digest('base64'),
  sha256: (b) => crypto.createHash('sha256').update(b).digest('base64'),
};

class S3Fail extends Error {
  constructor(status, code, message, extra) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/**
 * Start the verifying proxy.
 * @param {object} o
 * @param {string} o.upstream  s3rver's base URL (http://127.0.0.1:port)
 * @param {Record<string, string|{secret: string, token?: string}>} o.credentials
 *        access key id -> secret (or {secret, token} for temporary ones)
 * @param {string} [o.region]  the only region the buckets are in
 * @param {string} [o.owner]   the bucket owner's account id
 * @returns {Promise<{endpoint: string, port: number, log: object[], clearLog(): void, stop(): Promise<void>}>}
 */
export async function startVerifier({ upstream, credentials, region = 'us-east-1', owner = '123456789012' }) {
  const up = new URL(upstream);
  // Idle connections are dropped after 4 s, before s3rver's 5 s.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  const keys = new Map(
    Object.entries(credentials).map(([id, v]) => [id, typeof v === 'string' ? { secret: v } : v]),
  );
  const log = [];
  const locks = new Map(); // key -> promise of the last PUT in line

  async function withKeyLock(key, fn) {
    const prev = locks.get(key) || Promise.resolve();
    let release;
    const mine = new Promise((r) => (release = r));
    const tail = prev.then(() => mine);
    locks.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === tail) locks.delete(key);
    }
  }

  // Throws S3Fail unless the request is signed right.
  async function verifySignature(req, rawPath, query) {
    const auth = req.headers.authorization;
    if (!auth) {
      if ('X-Amz-Signature' in query || 'X-Amz-Algorithm' in query)
        throw new S3Fail(403, 'AccessDenied', 'presigned URLs are not accepted by this test proxy');
      throw new S3Fail(403, 'AccessDenied', 'Access Denied (the request is not signed)');
    }
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/([^/,\s]*)\/([^/,\s]*)\/([^/,\s]*)\/([^/,\s]*),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m)
      throw new S3Fail(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; it is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<64 hex>');
    const [, akid, scopeDate, scopeRegion, scopeService, terminator, signedList, signature] = m;
    const cred = keys.get(akid);
    if (!cred)
      throw new S3Fail(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
        AWSAccessKeyId: akid,
      });
    const amzDate = req.headers['x-amz-date'];
    const when = parseAmzDate(amzDate);
    if (!when)
      throw new S3Fail(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (terminator !== 'aws4_request' || scopeService !== 's3')
      throw new S3Fail(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${scopeService}" or terminator "${terminator}". This endpoint belongs to "s3".`);
    if (scopeRegion !== region)
      throw new S3Fail(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${region}'`, { Region: region });
    if (scopeDate !== amzDate.slice(0, 8))
      throw new S3Fail(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
    if (Math.abs(Date.now() - when.getTime()) > MAX_SKEW_MS)
      throw new S3Fail(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: amzDate,
        ServerTime: new Date().toISOString(),
      });
    const signed = signedList.split(';');
    if (!signed.includes('host'))
      throw new S3Fail(403, 'AccessDenied', 'Host header is not signed (SignedHeaders must include host)');
    const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
    if (unsigned.length)
      throw new S3Fail(403, 'AccessDenied', 'There were headers present in the request which were not signed', {
        HeadersNotSigned: unsigned.join(', '),
      });
    const token = req.headers['x-amz-security-token'];
    if ((cred.token || token) && cred.token !== token)
      throw new S3Fail(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
    const sha = req.headers['x-amz-content-sha256'];
    if (!sha)
      throw new S3Fail(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    if (/^STREAMING-/.test(sha))
      throw new S3Fail(501, 'NotImplemented', `x-amz-content-sha256 ${sha} (aws-chunked) is not supported by this test proxy`);
    if (sha !== 'UNSIGNED-PAYLOAD' && !/^[0-9a-f]{64}$/.test(sha))
      throw new S3Fail(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.', {
        ArgumentName: 'x-amz-content-sha256',
        ArgumentValue: sha,
      });

    // The request as S3 sees it: decoded path and query, the signed headers.
    let path;
    try {
      path = canonicalPath(rawPath);
    } catch {
      throw new S3Fail(400, 'InvalidURI', "Couldn't parse the specified URI.");
    }
    const headers = {};
    for (const h of signed) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(',') : v;
    }
    const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname: 'verifier', path, query, headers });
    const signer = new SignatureV4({
      credentials: { accessKeyId: akid, secretAccessKey: cred.secret },
      region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: true,
    });
    const ours = await signer.sign(request, { signingDate: when, signableHeaders: new Set(signed) });
    const am = /SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})/.exec(ours.headers.authorization);
    if (am[1] === signedList && am[2] === signature) return { akid };

    // Mismatch: say what we computed, as S3 does.
    const prepared = HttpRequest.clone(request);
    prepared.headers['x-amz-date'] = amzDate;
    const canonical = signer.createCanonicalRequest(
      prepared,
      getCanonicalHeaders(prepared, undefined, new Set(signed)),
      sha,
    );
    const scope = `${scopeDate}/${region}/s3/aws4_request`;
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      crypto.createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    throw new S3Fail(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        AWSAccessKeyId: akid,
        StringToSign: stringToSign,
        SignatureProvided: signature,
        CanonicalRequest: canonical,
        ...(am[1] !== signedList ? { ExpectedSignedHeaders: am[1] } : {}),
      },
    );
  }

  function verifyBody(req, body) {
    const sha = req.headers['x-amz-content-sha256'];
    if (/^[0-9a-f]{64}$/.test(sha)) {
      const got = crypto.createHash('sha256').update(body).digest('hex');
      if (got !== sha)
        throw new S3Fail(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: sha,
          S3ComputedContentSHA256: got,
        });
    }
    const md5 = req.headers['content-md5'];
    if (md5 !== undefined) {
      const raw = Buffer.from(md5, 'base64');
      if (raw.length !== 16 || raw.toString('base64') !== md5)
        throw new S3Fail(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
      const got = crypto.createHash('md5').update(body).digest('base64');
      if (got !== md5)
        throw new S3Fail(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', {
          ExpectedDigest: md5,
          CalculatedDigest: got,
        });
    }
    for (const [alg, fn] of Object.entries(CHECKSUMS)) {
      const want = req.headers[`x-amz-checksum-${alg}`];
      if (want !== undefined && fn(body) !== want)
        throw new S3Fail(400, 'BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`);
    }
  }

  function verifyHeaders(req, isWrite) {
    const expected = req.headers['x-amz-expected-bucket-owner'];
    if (expected !== undefined && expected !== owner)
      throw new S3Fail(403, 'AccessDenied', 'Access Denied (x-amz-expected-bucket-owner does not own the bucket)');
    const sse = req.headers['x-amz-server-side-encryption'];
    const kmsKey = req.headers['x-amz-server-side-encryption-aws-kms-key-id'];
    if (!isWrite && (sse !== undefined || kmsKey !== undefined))
      throw new S3Fail(400, 'InvalidArgument', 'x-amz-server-side-encryption header is not supported for this operation.');
    if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse))
      throw new S3Fail(400, 'InvalidArgument', `Server Side Encryption with ${sse} is not supported`, {
        ArgumentName: 'x-amz-server-side-encryption',
        ArgumentValue: sse,
      });
    if (kmsKey !== undefined && !/^aws:kms/.test(sse || ''))
      throw new S3Fail(400, 'InvalidArgument', 'Specifying a KMS key id requires x-amz-server-side-encryption: aws:kms');
    const inm = req.headers['if-none-match'];
    if (req.method === 'PUT' && inm !== undefined && inm !== '*')
      throw new S3Fail(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', {
        Header: 'If-None-Match',
      });
  }

  // A kept-alive connection that s3rver closed just as it was reused fails
  // at once with ECONNRESET: the request never reached s3rver, and its body
  // is in memory, so it is sent again on a new connection (as Node's docs
  // advise) rather than reported to the client as a fault of S3's.
  function forward(req, res, rawUrl, body, extraHeaders = {}, retried = false) {
    return new Promise((resolve, reject) => {
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && !CHECKED_HERE.has(k)) headers[k] = v;
      if (body.length || req.method === 'PUT' || req.method === 'POST') headers['content-length'] = String(body.length);
      const upReq = http.request(
        { host: up.hostname, port: up.port, method: req.method, path: rawUrl, headers, agent },
        (upRes) => {
          const out = {};
          for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
          Object.assign(out, extraHeaders);
          res.writeHead(upRes.statusCode, out);
          upRes.pipe(res);
          upRes.on('end', () => resolve(upRes.statusCode));
          upRes.on('error', reject);
        },
      );
      upReq.on('error', (err) => {
        if (upReq.reusedSocket && !retried && !res.headersSent && err.code === 'ECONNRESET')
          resolve(forward(req, res, rawUrl, body, extraHeaders, true));
        else reject(err);
      });
      upReq.end(body);
    });
  }

  function headUpstream(rawPath) {
    return new Promise((resolve, reject) => {
      const r = http.request({ host: up.hostname, port: up.port, method: 'HEAD', path: rawPath, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      r.on('error', reject);
      r.end();
    });
  }

  function sendError(req, res, e) {
    const xml = errorXml(e.code, e.message, e.extra);
    res.writeHead(e.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(req.method === 'HEAD' ? undefined : xml);
  }

  async function handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const rawUrl = req.url;
    const qi = rawUrl.indexOf('?');
    const rawPath = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    const rawQuery = qi < 0 ? '' : rawUrl.slice(qi + 1);
    const entry = {
      method: req.method,
      rawPath,
      key: null,
      query: {},
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(
          ([k]) => /^(x-amz-(?!date$|security-token$)|content-(md5|type)$|if-none-match$)/.test(k),
        ),
      ),
      bytes: body.length,
      status: 0,
      code: null,
    };
    log.push(entry);
    if (log.length > 50000) log.splice(0, 10000);
    const isWrite = req.method === 'PUT' || req.method === 'POST';
    try {
      let query;
      try {
        query = parseQuery(rawQuery);
        entry.key = decodeURIComponent(rawPath).replace(/^\/[^/]*\/?/, '') || null;
      } catch {
        throw new S3Fail(400, 'InvalidURI', "Couldn't parse the specified URI.");
      }
      entry.query = query;
      entry.akid = /Credential=([^/,\s]+)\//.exec(req.headers.authorization || '')?.[1] ?? null;
      await verifySignature(req, rawPath, query);
      verifyBody(req, body);
      verifyHeaders(req, isWrite);
      const sseEcho = {};
      if (isWrite) {
        for (const h of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id']) {
          if (req.headers[h] !== undefined) sseEcho[h] = req.headers[h];
        }
      }
      if (req.method === 'PUT' && entry.key) {
        entry.status = await withKeyLock(rawPath, async () => {
          if (req.headers['if-none-match'] === '*') {
            const st = await headUpstream(rawPath);
            if (st === 200)
              throw new S3Fail(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
                Condition: 'If-None-Match',
              });
          }
          return forward(req, res, rawUrl, body, sseEcho);
        });
      } else {
        entry.status = await forward(req, res, rawUrl, body, sseEcho);
      }
    } catch (e) {
      if (!(e instanceof S3Fail)) throw e;
      entry.status = e.status;
      entry.code = e.code;
      if (!res.headersSent) sendError(req, res, e);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      // An upstream failure: S3 would say 500 InternalError.
      if (!res.headersSent) sendError(req, res, new S3Fail(500, 'InternalError', `verifying proxy: ${err.message}`));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 20000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    log,
    clearLog() {
      log.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}
