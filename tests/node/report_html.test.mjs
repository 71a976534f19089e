// `bpecg-etl report`: one static HTML page over a run's results, checked
// in headless Chromium (Debian's chromium, driven by playwright-core):
// it loads with no console errors and no network, its totals match DuckDB's
// reading of the Parquet files, its tables page, and the contact sheet's
// crops load and show.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { DuckDBInstance } from '@duckdb/node-api';
import { chromium } from 'playwright-core';

import { readPng } from './preview_png.mjs';

const BIN = path.join(process.env.BPECG_BUILD_DIR, 'bpecg-etl');
const CHROMIUM = '/usr/bin/chromium';
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-report-'));

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|REDACT_|FIELD_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|METADATA_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|AWS_)/.test(k),
  ),
);
function run(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...cleanEnv, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const IN = path.join(work, 'in');
const OUT = path.join(work, 'out');
const SITE = path.join(work, 'site');
// A file name that would run script if it were ever parsed as HTML.
const HOSTILE = `x <img src=x onerror="window.pwned=1">&amp;'.pdf`;
const crops = {
  unit: 'pt',
  regions: [
    { name: 'lead_II', x0: 100, y0: 100, x1: 300, y1: 300 },
    { name: 'rhythm', x0: 40, y0: 470, x1: 760, y1: 580 },
    { name: 'edge', x0: 700, y0: 500, x1: 900, y1: 700 },
  ],
};

let browser;
let db;
async function query(sql) {
  if (!db) db = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

before(async () => {
  execFileSync(BIN, ['samples', '--out', IN, '--count', '12', '--seed', '4', '--variants']);
  fs.copyFileSync(path.join(IN, 'ecg_00000.pdf'), path.join(IN, HOSTILE));
  const cf = path.join(work, 'crops.json');
  fs.writeFileSync(cf, JSON.stringify(crops));
  const r = run(['run', '--source', IN, '--dest', OUT, '--crops', cf, '--batch-size', '5']);
  assert.equal(r.code, 1, r.stderr); // the failed variants
  fs.mkdirSync(SITE);
  // Chromium must be there (scripts/install-deps installs Debian's).
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

// Open a report; collect every console error, page error and request that
// leaves the machine or fails.
async function open(file) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 3000 } });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('file:') && !u.startsWith('data:')) problems.push(`network: ${u}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForLoadState('load');
  return { page, problems };
}

const cellTexts = (page, sel) =>
  page.$$eval(sel, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));

async function imagesLoaded(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('#sheet-table img')].every((i) => i.complete));
  return page.$$eval('#sheet-table img', (imgs) => imgs.map((i) => ({ alt: i.alt, w: i.naturalWidth, src: i.getAttribute('src') })));
}

describe('report over a run (samples, variants, a hostile name)', () => {
  const REPORT = path.join(SITE, 'report.html');
  let res, html;
  before(() => {
    res = run(['report', '--dest', OUT, '-o', REPORT, '--page-size', '10']);
    html = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, 'utf8') : '';
  });

  test('writes one self-contained page', () => {
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /report\.html: 21 PDFs from 5 batch files/);
    // No resource from elsewhere: styles and script are inline, and the
    // crops are linked by relative path.
    assert.doesNotMatch(html, /<link[^>]+stylesheet|<script[^>]+src=|(src|href)=["']?(https?:)?\/\//i);
    assert.match(html, /"\.\.\/out\/images\/ecg_00000\/lead_II\.jpg"/);
    // The hostile name is never markup in the file.
    assert.ok(!html.includes('<img src=x'), 'raw file name in the HTML');
  });

  test('loads in Chromium with no console errors and no network', async () => {
    const { page, problems } = await open(REPORT);
    await imagesLoaded(page);
    assert.deepEqual(problems, []);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    await page.close();
  });

  test('totals per status and error_type match the Parquet files', async () => {
    const { page } = await open(REPORT);
    const files = `read_parquet('${OUT}/metadata/*.parquet')`;
    const byStatus = await query(`SELECT status, count(*)::INT n FROM ${files} GROUP BY 1`);
    const byType = await query(`SELECT error_type, count(*)::INT n FROM ${files} WHERE error_type IS NOT NULL GROUP BY 1`);
    const st = await cellTexts(page, '#status-totals tbody tr');
    assert.deepEqual(
      Object.fromEntries(st.filter((r) => r[0] !== 'total').map(([s, n]) => [s, Number(n)])),
      Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
    );
    assert.deepEqual(st.find((r) => r[0] === 'total'), ['total', '21']);
    const et = await cellTexts(page, '#error-totals tbody tr');
    assert.deepEqual(Object.fromEntries(et.map(([s, n]) => [s, Number(n)])), Object.fromEntries(byType.map((r) => [r.error_type, r.n])));

    // The failed and partial PDFs, with their errors.
    const bad = await query(`SELECT source_key, status, error_type, error FROM ${files} WHERE status <> 'success' ORDER BY 1`);
    const rows = await cellTexts(page, '#problems-table tbody tr');
    assert.equal(rows.length, bad.length);
    assert.deepEqual(
      rows.map((r) => r.join('|')).sort(),
      bad.map((r) => [r.source_key, r.status, r.error_type, r.error].join('|')).sort(),
    );
    assert.ok(rows.some((r) => r[2] === 'encrypted'));
    await page.close();
  });

  test('the contact sheet: one row per PDF, one column per region, crops loaded', async () => {
    const { page, problems } = await open(REPORT);
    const head = await page.$$eval('#sheet-table thead th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(head, ['PDF', 'lead_II', 'rhythm', 'edge']);
    // First page: 10 of 21 rows (12 samples, 8 variants, the hostile name).
    assert.match(await page.textContent('#sheet-pager span'), /page 1 of 3 \(1–10 of 21\)/);
    const rows = await cellTexts(page, '#sheet-table tbody tr');
    assert.equal(rows.length, 10);
    assert.ok(rows[0][0].startsWith('ecg_00000') && rows[0][0].endsWith('success'));
    const imgs = await imagesLoaded(page);
    assert.equal(imgs.length, 30); // ten good PDFs, three crops each
    for (const i of imgs) assert.ok(i.w > 0, `${i.alt} did not load (${i.src})`);
    // The crops keep their pixel size: 200 pt at 100 dpi is 278 px.
    assert.equal(imgs.find((i) => i.alt === 'lead_II of ecg_00000').w, 278);
    assert.equal(imgs.find((i) => i.alt === 'edge of ecg_00000').w, 1100 - 972); // clipped
    assert.equal(await page.$$eval('#sheet-table img', (a) => a.every((i) => i.loading === 'lazy')), true);

    // A screenshot shows the grid: many colours (ECG paper, traces), not
    // an empty table.
    const shot = readPng(await page.locator('#sheet-table').screenshot());
    assert.ok(shot.height >= 10 * 120, `the grid is ${shot.height} px high`);
    const colours = new Set();
    let dark = 0;
    for (let y = 0; y < shot.height; y += 2)
      for (let x = 0; x < shot.width; x += 2) {
        const c = shot.at(x, y);
        colours.add(c);
        if ((c >> 16) < 90 && ((c >> 8) & 255) < 90 && (c & 255) < 90) dark++;
      }
    assert.ok(colours.size > 200, `${colours.size} colours`);
    assert.ok(dark > 500, `${dark} dark (trace) pixels`);

    // Paging to the end: the hostile name is plain text there.
    await page.click('#sheet-pager button:last-of-type');
    await page.click('#sheet-pager button:last-of-type');
    assert.match(await page.textContent('#sheet-pager span'), /page 3 of 3 \(21–21 of 21\)/);
    const last = await cellTexts(page, '#sheet-table tbody tr');
    assert.equal(last.length, 1);
    assert.ok(last[0][0].startsWith(HOSTILE.replace(/\.pdf$/, '')), last[0][0]);
    await imagesLoaded(page);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.$$eval('#sheet-table tbody img', (a) => a.filter((i) => i.naturalWidth > 0).length), 3);

    // The status filter.
    await page.selectOption('#sheet-filter', 'failed');
    const failed = await cellTexts(page, '#sheet-table tbody tr');
    assert.equal(failed.length, 3);
    for (const r of failed) assert.deepEqual(r.slice(1), ['—', '—', '—']);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('report output choices', () => {
  test('without -o the page goes into the destination, next to images/', async () => {
    const r = run(['report', '--dest', OUT]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /out\/report\.html: 21 PDFs/);
    const { page, problems } = await open(path.join(OUT, 'report.html'));
    const imgs = await imagesLoaded(page);
    // Every crop of the run is on the one page (100 rows a page).
    const [{ n }] = await query(`SELECT sum(images_extracted)::INT n FROM read_parquet('${OUT}/metadata/*.parquet')`);
    assert.equal(imgs.length, n);
    assert.ok(imgs.every((i) => i.w > 0 && i.src.startsWith('images/')));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('--inline-images embeds the crops: the page needs nothing else', async () => {
    const lone = path.join(work, 'lone');
    fs.mkdirSync(lone);
    const file = path.join(lone, 'r.html');
    const r = run(['report', '--dest', OUT, '-o', file, '--inline-images', '--page-size', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /images\//);
    const { page, problems } = await open(file);
    const imgs = await imagesLoaded(page);
    assert.equal(imgs.length, 15);
    assert.ok(imgs.every((i) => i.w > 0 && i.src.startsWith('data:image/jpeg;base64,')));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('an unreadable batch file is listed and gives exit 1', async () => {
    const copy = path.join(work, 'copy');
    fs.cpSync(OUT, copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'metadata', 'batch_000099.parquet'), 'PAR1 not really PAR1');
    const file = path.join(SITE, 'partial.html');
    const r = run(['report', '--dest', copy, '-o', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /batch_000099\.parquet: /);
    const { page, problems } = await open(file);
    assert.match(await page.textContent('pre.skipped'), /metadata\/batch_000099\.parquet: /);
    assert.equal((await cellTexts(page, '#status-totals tbody tr')).find((x) => x[0] === 'total')[1], '21');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('nothing to report (3), no destination (2)', () => {
    const empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    let r = run(['report', '--dest', empty, '-o', path.join(work, 'e.html')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no batch_\*\.parquet results under/);
    r = run(['report', '--dest', path.join(work, 'missing')]);
    assert.equal(r.code, 3);
    r = run(['report']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give --dest URL/);
    r = run(['report', '--dest', OUT, '--page-size', '0']);
    assert.equal(r.code, 2);
    assert.match(run(['report', '--help']).stdout, /usage: bpecg-etl report --dest URL/);
  });
});
