// Child process that runs s3rver 3.7.1 for the S3 test fixture
// (s3_fixture.mjs starts it; do not run it by hand except to debug).
//
//   node --openssl-legacy-provider s3_s3rver_main.mjs DIR BUCKET...
//
// Listens on 127.0.0.1 on a free port, prints {"port": N} as one JSON line
// on stdout once the buckets exist, and exits when its stdin closes (so it
// never outlives the test process, even one killed with SIGKILL), removing
// DIR then.
// --openssl-legacy-provider: s3rver's continuation tokens use DES, which
// Node 20's OpenSSL 3 only offers through the legacy provider.
//
// s3rver stands in for S3, so where it is known to deviate from S3 in ways
// that our client relies on, it is corrected here, and only here:
//  - ListObjectsV2 walks its directory tree, so keys come out in tree
//    order ("a/b/c" before "a/b" before "a b"), not S3's UTF-8 byte order,
//    and start-after / continuation tokens then skip or repeat keys.
//    Listings are made here instead, from the same files: the keys under
//    the prefix in byte order, then start-after, delimiter and max-keys as
//    S3 applies them (s3rver's continuation token, the last key, is then
//    right); metadata is read only for the keys of the page.
//  - encoding-type=url is ignored. It is implemented as S3 does it
//    (measured on AWS: space -> '+', '+' -> %2B, '%' -> %25, UTF-8 bytes
//    %XX, '/' kept) on Key, Prefix, StartAfter, Delimiter and
//    CommonPrefixes/Prefix, with <EncodingType>url</EncodingType>; any other
//    value is 400 InvalidArgument as on S3.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');

const [dir, ...buckets] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: s3_s3rver_main.mjs DIR BUCKET...\n');
  process.exit(2);
}

const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// Every key under prefix, from s3rver's layout on disk: key "a/b" is the
// file a/b._S3rver_object (its metadata lives beside it).
const OBJECT_SUFFIX = '._S3rver_object';
function keysUnder(bucketPath, prefix) {
  const out = [];
  const walk = (dir, rel) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = rel + ent.name;
      if (ent.isDirectory()) {
        const sub = name + '/';
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) walk(path.join(dir, ent.name), sub);
      } else if (ent.name.endsWith(OBJECT_SUFFIX)) {
        const key = name.slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) out.push(key);
      }
    }
  };
  walk(bucketPath, '');
  return out;
}

FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
  const keys = keysUnder(this.getBucketPath(bucket), prefix)
    .filter((k) => byteOrder(k, startAfter) > 0)
    .sort(byteOrder);
  const out = { objects: [], commonPrefixes: [], isTruncated: false };
  const page = [];
  for (const key of keys) {
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const common = cut >= 0 ? key.slice(0, cut + delimiter.length) : null;
    if (common && out.commonPrefixes[out.commonPrefixes.length - 1] === common) continue;
    if (out.commonPrefixes.length + page.length === maxKeys) {
      out.isTruncated = true;
      break;
    }
    if (common) out.commonPrefixes.push(common);
    else page.push(key);
  }
  // Metadata only for the page (a key deleted meanwhile is left out).
  for (const key of page) {
    try {
      out.objects.push(new S3Object(bucket, key, null, await this.getMetadata(bucket, key)));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
  return out;
};

// S3's encoding-type=url form.
const urlEncode = (s) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%20/g, '+');

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
});

// Koa composes its middleware when the server starts listening, so this
// runs inside s3rver's XML encoder (index 1) and sees the listing object
// before it is serialised.
server.middleware.splice(2, 0, async function encodingType(ctx, next) {
  const type = ctx.query['encoding-type'];
  const isList = ctx.method === 'GET' && /^\/[^/]+\/?$/.test(ctx.path);
  if (isList && type !== undefined && type !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: type,
    });
  }
  await next();
  const r = ctx.body && ctx.body.ListBucketResult;
  if (!r || type !== 'url') return;
  for (const f of ['Prefix', 'StartAfter', 'Delimiter']) {
    if (typeof r[f] === 'string') r[f] = urlEncode(r[f]);
  }
  for (const c of r.Contents || []) c.Key = urlEncode(c.Key);
  for (const p of r.CommonPrefixes || []) p.Prefix = urlEncode(p.Prefix);
  // S3 puts EncodingType after MaxKeys; the order of keys is kept by the
  // serialiser, so rebuild the object with it in place.
  const rebuilt = {};
  for (const [k, v] of Object.entries(r)) {
    rebuilt[k] = v;
    if (k === 'MaxKeys') rebuilt.EncodingType = 'url';
  }
  ctx.body = { ListBucketResult: rebuilt };
});

const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + '\n');

const shutdown = () => {
  server.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
// stdin closes when the test process ends, however it ends: the data
// directory (the fixture's) goes too, in case nobody else could remove it.
const orphaned = () => {
  fs.rmSync(dir, { recursive: true, force: true });
  shutdown();
};
process.stdin.on('end', orphaned);
process.stdin.on('error', orphaned);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
