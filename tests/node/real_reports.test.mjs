// Measurements of real ECG reports (../shared/corpus/ecg, read in place):
// `bpecg-etl run` with no setting but the directories, and again with
// TEXT_PAGE=auto, must give every value printed in that folder's README
// table, and nothing where a report prints no such value. The results are
// read with DuckDB, hyparquet and arrow-rs (parquet-wasm), which must
// agree. None of these files was made by this project; none is matched by
// name or hash in the program.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  arrowRows,
  duckdb,
  fileArrayBuffer,
  queryRows,
  readArrowTable,
  readHyparquet,
  sqlString,
} from './pq_readers.mjs';
import { pdf, stream } from './torture_pdfs.mjs';

const BUILD = process.env.BPECG_BUILD_DIR;
const SHARED = process.env.BPECG_SHARED_DIR;
const BIN = path.join(BUILD || '', 'bpecg-etl');
const CORPUS = path.join(SHARED || '', 'corpus', 'ecg');
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-real-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// No setting at all from the caller's environment: only what a process
// needs to run.
const bareEnv = { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR || '/tmp' };

function run(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...bareEnv, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The README's table of printed measurements: rate, PR, QRS, QT, QTc, P,
// R and T axes, acquired. Every other measurement column is null, except
// where the page prints one the table does not list (Tricog's "AR: 60bpm"
// is an atrial rate).
const TRUTH = {
  'biomk_3b7b4dc1-d17e-403e-949f-b0c6a3693447.pdf': {
    vent: 55, pr: 190, qrs: 100, qt: 408, qtc: 390, axes: [66, 86, 23], acquired: '2025-04-29T08:28:13',
  },
  // The README lists the axes as 11/34/-5, the order the content stream
  // draws them in. On the page the row reads "P-R-T axes  -5  34  11"
  // (x = 253, 271, 299 pt), and the repository this file comes from reads
  // the content-order values as T, R, P (EKG.cs findPRT): P -5, R 34, T 11.
  // The values are read by position, so this test departs from the README
  // here; every other value is the README's.
  'shiansen_test_example_1.pdf': {
    vent: 80, pr: 146, qrs: 84, qt: 362, qtc: 417, axes: [-5, 34, 11], acquired: '2020-02-11T11:31:29',
  },
  'tricog_r.pdf': {
    vent: 60, atrial: 60, pr: 148, qrs: 86, qt: 416, qtc: 416, axes: [40, -15, 75], acquired: '2025-02-14T17:38:00',
  },
  'dcmplot_anonymous_ecg_3x4_1.pdf': {
    vent: 61, pr: 161, qrs: 75, qt: 368, qtc: 370, axes: [74, 52, 57], acquired: '2013-01-25T09:54:00',
  },
  'kardia_kardiamobile-6l-ecg.pdf': { vent: 87, acquired: '2026-02-23T18:26:56' },
  'pmcardio_ecg.pdf': { vent: 67, acquired: '2023-02-20T02:03:07' },
  'hdbot_ecg.pdf': { vent: 57, acquired: '2023-07-12T13:01:00' },
  // No measurements printed: raster pages, lead names only, a
  // forecasting report with a "Generated" date.
  'advecg_sample_ecg.pdf': {},
  'ecgtizer_00009_hr.pdf': {},
  'ecgtizer_00009_hr_6x2.pdf': {},
  'seq2seq_ECG_Report.pdf': {},
};

// The label each value must say it came from (fields_source), where the
// label style is the point.
const SOURCES = {
  'biomk_3b7b4dc1-d17e-403e-949f-b0c6a3693447.pdf': [
    'vent_rate_bpm=Herzfrequenz', 'pr_interval_ms=PQ Intervall', 'qrs_duration_ms=QRS Dauer',
    'qt_ms=QT/QTc', 'qtc_ms=QT/QTc', 'p_axis_deg=P-QRS-T Winkel', 'r_axis_deg=P-QRS-T Winkel',
    't_axis_deg=P-QRS-T Winkel', 'acquired_at=(unlabelled)',
  ],
  'tricog_r.pdf': [
    'vent_rate_bpm=VR', 'atrial_rate_bpm=AR', 'pr_interval_ms=PRI', 'qrs_duration_ms=QRSD', 'qt_ms=QT',
    'qtc_ms=QTcB', 'p_axis_deg=P-R-T', 'r_axis_deg=P-R-T', 't_axis_deg=P-R-T', 'acquired_at=Date and Time',
  ],
  'hdbot_ecg.pdf': ['vent_rate_bpm=ЧСС средняя', 'acquired_at=Дата+Время'],
  'kardia_kardiamobile-6l-ecg.pdf': ['vent_rate_bpm=Heart Rate', 'acquired_at=Recorded on'],
  'pmcardio_ecg.pdf': ['vent_rate_bpm=(unlabelled)', 'acquired_at=(unlabelled)'],
  'seq2seq_ECG_Report.pdf': [],
};

const COLUMNS = [
  { name: 'source_key', type: 'STRING' },
  { name: 'vent_rate_bpm', type: 'INT32' },
  { name: 'atrial_rate_bpm', type: 'INT32' },
  { name: 'pr_interval_ms', type: 'INT32' },
  { name: 'qrs_duration_ms', type: 'INT32' },
  { name: 'qt_ms', type: 'INT32' },
  { name: 'qtc_ms', type: 'INT32' },
  { name: 'p_axis_deg', type: 'INT32' },
  { name: 'r_axis_deg', type: 'INT32' },
  { name: 't_axis_deg', type: 'INT32' },
  { name: 'acquired_at', type: 'TIMESTAMP_MS' },
  { name: 'fields_rejected', type: 'INT32' },
  { name: 'fields_source', type: 'STRING', list: true },
];

// One row as [source_key, vent, atrial, pr, qrs, qt, qtc, p, r, t,
// acquired (ms, BigInt), rejected, sources].
function expected(key) {
  const t = TRUTH[key];
  const axes = t.axes || [null, null, null];
  const acquired = t.acquired ? BigInt(Date.parse(`${t.acquired}Z`)) : null;
  return [key, t.vent ?? null, t.atrial ?? null, t.pr ?? null, t.qrs ?? null, t.qt ?? null, t.qtc ?? null, ...axes, acquired];
}

let conn;
async function duckRows(dest) {
  if (!conn) conn = await duckdb();
  const glob = sqlString(`${dest}/metadata/*.parquet`);
  const rows = await queryRows(
    conn,
    `SELECT ${COLUMNS.map((c) => (c.type === 'TIMESTAMP_MS' ? `epoch_ms(${c.name}) AS ${c.name}` : c.name)).join(', ')},
            status, error, text
       FROM read_parquet(${glob}) ORDER BY source_key`,
  );
  return rows.map((r) => ({
    cells: COLUMNS.map((c) => {
      const v = r[c.name];
      if (v === null || v === undefined) return null;
      if (c.type === 'TIMESTAMP_MS') return BigInt(v);
      return c.list ? [...v] : v;
    }),
    status: r.status,
    error: r.error,
    text: r.text,
  }));
}

function batchFiles(dest) {
  const dir = path.join(dest, 'metadata');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));
}

async function otherReaders(dest) {
  const hy = [];
  const arrow = [];
  for (const f of batchFiles(dest)) {
    hy.push(...(await readHyparquet(fileArrayBuffer(f), COLUMNS)));
    arrow.push(...arrowRows(readArrowTable(f), COLUMNS));
  }
  const byKey = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return { hy: hy.sort(byKey), arrow: arrow.sort(byKey) };
}

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

function checkValues(rows) {
  assert.deepEqual(rows.map((r) => r.cells[0]), Object.keys(TRUTH).sort());
  for (const r of rows) {
    const key = r.cells[0];
    // Every printed value right, and nothing where nothing is printed.
    assert.equal(show(r.cells.slice(0, 11)), show(expected(key)), key);
    assert.equal(r.cells[11], 0, `${key}: fields_rejected`);
    if (SOURCES[key]) assert.deepEqual(r.cells[12], SOURCES[key], `${key}: fields_source`);
  }
}

describe('real reports, no settings', () => {
  const OUT = path.join(work, 'default');
  let res, rows;
  before(async () => {
    res = run(['run', '--source', CORPUS, '--dest', OUT]);
    rows = await duckRows(OUT);
  });

  test('the run completes with a row per PDF', () => {
    assert.equal(res.code, 0, res.stderr);
    assert.equal(rows.length, Object.keys(TRUTH).length);
  });

  test('every printed measurement is read, and nothing else', () => {
    checkValues(rows);
  });

  test('DuckDB, hyparquet and arrow-rs read the same measurements and sources', async () => {
    const { hy, arrow } = await otherReaders(OUT);
    const duck = rows.map((r) => r.cells);
    assert.equal(show(hy), show(duck), 'hyparquet');
    assert.equal(show(arrow), show(duck), 'arrow-rs');
  });

  test('fields_source can be audited with SQL', async () => {
    const got = await queryRows(
      conn,
      `SELECT s, count(*)::INTEGER n FROM (SELECT unnest(fields_source) s
         FROM read_parquet(${sqlString(`${OUT}/metadata/*.parquet`)}))
        WHERE s LIKE 'vent_rate_bpm=%' GROUP BY s ORDER BY s`,
    );
    assert.deepEqual(
      got.map((r) => `${r.s} ${r.n}`),
      [
        'vent_rate_bpm=(unlabelled) 1',
        'vent_rate_bpm=Heart Rate 1',
        'vent_rate_bpm=Herzfrequenz 1',
        'vent_rate_bpm=VR 1',
        'vent_rate_bpm=Vent. rate 1',
        'vent_rate_bpm=Ventr. Freq. 1',
        'vent_rate_bpm=ЧСС средняя 1',
      ],
    );
  });
});

describe('real reports, TEXT_PAGE=auto', () => {
  const OUT = path.join(work, 'auto');
  let res, rows, plain;
  before(async () => {
    res = run(['run', '--source', CORPUS, '--dest', OUT], { TEXT_PAGE: 'auto' });
    rows = await duckRows(OUT);
    plain = await duckRows(path.join(work, 'default'));
  });

  test('the same measurements', () => {
    assert.equal(res.code, 0, res.stderr);
    checkValues(rows);
  });

  test('one-page reports are never partial because of the text page', () => {
    for (const r of rows) {
      assert.ok(!/text page/.test(r.error ?? ''), `${r.cells[0]}: ${r.error}`);
      // Here the measurement page is the first page (ties go to it), so
      // the text column is the default run's.
      const p = plain.find((x) => x.cells[0] === r.cells[0]);
      assert.equal(r.text, p.text, r.cells[0]);
    }
  });
});

describe('real reports, TEXT_PAGE=auto and CROP_PAGE=auto', () => {
  test('every report is a success, with the same measurements', async () => {
    const OUT = path.join(work, 'both');
    const r = run(['run', '--source', CORPUS, '--dest', OUT], { TEXT_PAGE: 'auto', CROP_PAGE: 'auto' });
    assert.equal(r.code, 0, r.stderr);
    const rows = await duckRows(OUT);
    checkValues(rows);
    for (const x of rows) assert.equal(x.status, 'success', `${x.cells[0]}: ${x.error}`);
  });
});

describe('TEXT_PAGE=auto picks the page with the measurement block', () => {
  // A cover page, the report, and a page that prints one value again.
  const page = (n) => `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents ${n} 0 R /Resources << /Font << /F1 6 0 R >> >> >>`;
  const text = (lines) =>
    stream(lines.map(([x, y, s]) => `BT /F1 10 Tf ${x} ${y} Td (${s}) Tj ET`).join('\n'));
  const bytes = pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>',
    page(7),
    page(8),
    page(9),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    text([[72, 700, 'Resting ECG report: cover sheet']]),
    text([
      [72, 760, 'Acquired: 2024-07-18 17:31:00'],
      [72, 740, 'Vent. rate'], [200, 740, '72'], [230, 740, 'BPM'],
      [72, 728, 'PR interval'], [200, 728, '160'], [230, 728, 'ms'],
      [72, 716, 'QRS duration'], [200, 716, '92'], [230, 716, 'ms'],
    ]),
    text([[72, 760, 'Heart rate: 72 bpm']]),
  ]);
  const IN = path.join(work, 'three-pages');
  before(() => {
    fs.mkdirSync(IN);
    fs.writeFileSync(path.join(IN, 'report.pdf'), bytes);
  });

  test('auto: page 2, its text and its values', async () => {
    const OUT = path.join(work, 'three-auto');
    const r = run(['run', '--source', IN, '--dest', OUT], { TEXT_PAGE: 'auto' });
    assert.equal(r.code, 0, r.stderr);
    const [row] = await duckRows(OUT);
    assert.match(row.text, /PR interval/);
    assert.doesNotMatch(row.text, /cover sheet/);
    assert.equal(show(row.cells.slice(1, 5)), show([72, null, 160, 92]));
    assert.equal(row.cells[10], BigInt(Date.parse('2024-07-18T17:31:00Z')));
    assert.equal(row.status, 'success');
  });

  test('the default is still page 1', async () => {
    const OUT = path.join(work, 'three-default');
    const r = run(['run', '--source', IN, '--dest', OUT]);
    assert.equal(r.code, 0, r.stderr);
    const [row] = await duckRows(OUT);
    assert.match(row.text, /cover sheet/);
    assert.equal(row.cells[1], null);
    assert.deepEqual(row.cells[12], []);
  });

  test('a malformed TEXT_PAGE names the variable, the value and what is accepted', () => {
    const r = run(['run', '--source', IN, '--dest', path.join(work, 'never')], { TEXT_PAGE: 'automatic' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TEXT_PAGE=automatic: must be a page number from 1 to 100000, or auto/);
    assert.ok(!fs.existsSync(path.join(work, 'never', 'metadata')));
  });
});
