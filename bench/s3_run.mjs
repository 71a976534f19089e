// One bpecg-etl run through the local S3 server, for bench/run: the corpus
// is uploaded to s3rver (tests/node/s3_fixture.mjs: s3rver behind the
// SigV4-verifying proxy and the counting fault proxy, in pass mode), then
// `bpecg-etl run --source s3://... --dest s3://...` goes through the
// counting proxy, whose statistics give requests and TCP connections.
//
//   node bench/s3_run.mjs BPECG_ETL CORPUS_DIR CONCURRENCY
//
// Prints one JSON object on stdout.
import fs from 'node:fs';
import path from 'node:path';

import { runBin, startS3 } from '../tests/node/s3_fixture.mjs';

const [bin, corpus, concurrency] = process.argv.slice(2);
if (!bin || !corpus || !concurrency) {
  process.stderr.write('usage: node bench/s3_run.mjs BPECG_ETL CORPUS_DIR CONCURRENCY\n');
  process.exit(2);
}
const names = fs
  .readdirSync(corpus)
  .filter((n) => n.toLowerCase().endsWith('.pdf'))
  .sort();
const BATCH = 100;

const s3 = await startS3({ buckets: ['bench-src', 'bench-dst'] });
let out;
try {
  await s3.putMany(
    'bench-src',
    names.map((n) => [`pdfs/${n}`, fs.readFileSync(path.join(corpus, n))]),
    8,
  );
  s3.faults.reset();
  const t0 = process.hrtime.bigint();
  const r = await runBin(
    bin,
    [
      'run',
      '--source', 's3://bench-src/pdfs/',
      '--dest', 's3://bench-dst/',
      '--concurrency', concurrency,
      '--batch-size', String(BATCH),
      '--crop-regions', '[[100,100,300,300]]',
      '--no-progress',
    ],
    { env: s3.etlEnv({ LOG_LEVEL: 'warn' }), timeoutMs: 600000 },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`bpecg-etl exited ${r.code}: ${r.stderr.slice(-1500)}`);
  const st = s3.faults.stats();
  const count = (f) => st.log.filter(f).length;
  const pdfs = names.length;
  const images = pdfs; // one region
  const batches = Math.ceil(pdfs / BATCH);
  const gets = count((e) => e.method === 'GET' && e.path.startsWith('/bench-src/pdfs/'));
  const lists = count((e) => e.method === 'GET' && /^\/bench-src\/?$/.test(e.path));
  const putImages = count((e) => e.method === 'PUT' && e.path.startsWith('/bench-dst/images/'));
  const putBatches = count((e) => e.method === 'PUT' && e.path.startsWith('/bench-dst/metadata/'));
  const puts = count((e) => e.method === 'PUT');
  const connections = st.connections;
  out = {
    pdfs,
    images,
    batches,
    seconds,
    pdfs_per_s: pdfs / seconds,
    requests: st.requests,
    requests_per_pdf: st.requests / pdfs,
    gets,
    gets_per_pdf: gets / pdfs,
    lists,
    puts,
    put_images: putImages,
    put_batches: putBatches,
    expected_puts: images + batches,
    other_requests: st.requests - gets - lists - puts,
    connections,
    connections_per_pdf: connections / pdfs,
    max_in_flight: st.maxInFlight,
    concurrency: Number(concurrency),
    ok:
      gets === pdfs &&
      putImages === images &&
      putBatches === batches &&
      puts === images + batches &&
      connections <= Number(concurrency),
  };
} finally {
  await s3.stop();
}
process.stdout.write(JSON.stringify(out) + '\n');
