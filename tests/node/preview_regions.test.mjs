// `bpecg-etl preview` draws each region where the pipeline crops it, and
// REDACT_REGIONS paints the crop page white before cropping: pixel checks
// on the PNG and on the JPEG crops.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { readJpeg, readPng, hex } from './preview_png.mjs';

const BIN = path.join(process.env.BPECG_BUILD_DIR, 'bpecg-etl');
const work = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'bpecg-preview-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(BATCH_SIZE|CONCURRENCY|IMAGE_|CROP_|REDACT_|FIELD_|TEXT_PAGE|LOG_|RENDER_MODE|MAX_PDF|PDF_|SOURCE_|DEST_|METADATA_|START_AFTER|BATCH_ID|MAX_BATCHES|RUN_ID|AWS_)/.test(k),
  ),
);
function run(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...cleanEnv, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The documented layout of a preview.
const MARGIN = 48;
const INSIDE = 0x1565c0;
const CLIPPED = 0xef6c00;
const REDACT = 0x6d6d6d;
const RULER = 0x303030;
const BACKGROUND = 0xd8d8d8;
const px = (v, dpi) => Math.floor((v * dpi) / 72 + 0.5); // as crops_box

const IN = path.join(work, 'in');
const PDF = path.join(IN, 'ecg_00000.pdf');
before(() => {
  execFileSync(BIN, ['samples', '--out', IN, '--count', '2', '--seed', '9', '--variants']);
});

function writeJson(name, obj) {
  const f = path.join(work, name);
  fs.writeFileSync(f, JSON.stringify(obj));
  return f;
}

const crops = {
  unit: 'pt',
  regions: [
    { name: 'lead_II', x0: 100, y0: 100, x1: 300, y1: 300 },
    { name: 'rhythm', x0: 40, y0: 470, x1: 760, y1: 580 },
    { name: 'edge', x0: 700, y0: 500, x1: 900, y1: 700 }, // cut by the 792x612 page
  ],
};

// Each edge of a drawn box: the 2-pixel outline has exactly the colour, the
// pixel just outside it has not.
function checkBox(img, box, colour, what, edges = ['left', 'right', 'top', 'bottom']) {
  const midX = Math.floor((box.x0 + box.x1) / 2) + MARGIN;
  const midY = Math.floor((box.y0 + box.y1) / 2) + MARGIN;
  const probes = {
    left: [[box.x0 + MARGIN, midY], [box.x0 + MARGIN + 1, midY], [box.x0 + MARGIN - 1, midY, false]],
    right: [[box.x1 - 1 + MARGIN, midY], [box.x1 - 2 + MARGIN, midY], [box.x1 + MARGIN, midY, false]],
    // (the label's background, of the same colour, starts at the corner)
    top: [[box.x0 + 8 + MARGIN, box.y0 + MARGIN], [box.x0 + 8 + MARGIN, box.y0 + MARGIN + 1], [box.x0 + 8 + MARGIN, box.y0 + MARGIN - 1, false]],
    bottom: [[midX, box.y1 - 1 + MARGIN], [midX, box.y1 - 2 + MARGIN], [midX, box.y1 + MARGIN, false]],
  };
  for (const e of edges) {
    for (const [x, y, on = true] of probes[e]) {
      const c = img.at(x, y);
      if (on) assert.equal(hex(c), hex(colour), `${what} ${e} edge at (${x}, ${y})`);
      else assert.notEqual(hex(c), hex(colour), `${what}: (${x}, ${y}) is outside the ${e} edge`);
    }
  }
}

describe('preview', () => {
  for (const dpi of [100, 150]) {
    test(`regions are drawn where they are cropped (${dpi} dpi)`, () => {
      const out = path.join(work, `p${dpi}.png`);
      const r = run(['preview', PDF, '--crops', writeJson('crops.json', crops), '--dpi', String(dpi), '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      const img = readPng(fs.readFileSync(out));
      // The page (792 x 612 pt) plus the margin on every side.
      const pw = px(792, dpi);
      const ph = px(612, dpi);
      assert.equal(img.width, pw + 2 * MARGIN);
      assert.equal(img.height, ph + 2 * MARGIN);
      assert.equal(hex(img.at(2, 2)), hex(BACKGROUND));
      assert.equal(hex(img.at(img.width - 3, img.height - 3)), hex(BACKGROUND));

      const box = (r) => ({ x0: px(r.x0, dpi), y0: px(r.y0, dpi), x1: px(r.x1, dpi), y1: px(r.y1, dpi) });
      checkBox(img, box(crops.regions[0]), INSIDE, 'lead_II');
      checkBox(img, box(crops.regions[1]), INSIDE, 'rhythm');
      // A clipped region keeps its full outline, drawn past the page into
      // the margin where the canvas allows.
      checkBox(img, box(crops.regions[2]), CLIPPED, 'edge', ['left', 'top']);
      // Its label's background starts at its top-left corner.
      const e = box(crops.regions[2]);
      assert.equal(hex(img.at(e.x0 + MARGIN + 3, e.y0 + MARGIN + 1)), hex(CLIPPED));
      // Rulers: a tick every 10 pt along the top and left edges.
      for (const v of [0, 10, 100, 250, 700, 790])
        assert.equal(hex(img.at(MARGIN + px(v, dpi), MARGIN - 1)), hex(RULER), `top tick at ${v} pt`);
      for (const v of [0, 10, 100, 250, 610])
        assert.equal(hex(img.at(MARGIN - 1, MARGIN + px(v, dpi))), hex(RULER), `left tick at ${v} pt`);
      assert.notEqual(hex(img.at(MARGIN + px(105, dpi), MARGIN - 1)), hex(RULER), 'no tick at 105 pt');

      // stdout names each region, its pixels and whether it fits.
      assert.match(r.stdout, new RegExp(`lead_II +pt \\(100,100\\)-\\(300,300\\) +px \\(${px(100, dpi)},${px(100, dpi)}\\)`));
      assert.match(r.stdout, /edge .* clipped by the page/);
      assert.match(r.stdout, new RegExp(`at ${dpi} dpi: ${pw} x ${ph} px, drawn at \\+48,\\+48`));
    });
  }

  test('the default region, px units, and the settings of `run`', () => {
    const out = path.join(work, 'default.png');
    const r = run(['preview', PDF, '-o', out], { IMAGE_DPI: '72' });
    assert.equal(r.code, 0, r.stderr);
    const img = readPng(fs.readFileSync(out));
    assert.equal(img.width, 792 + 2 * MARGIN);
    checkBox(img, { x0: 100, y0: 100, x1: 300, y1: 300 }, INSIDE, 'region_0');
    assert.match(r.stdout, /region_0 +px \(100,100\)-\(300,300\)/);
  });

  test('redaction areas are painted white and outlined', () => {
    const dpi = 100;
    // The waveform page of a sample carries a patient header at its top.
    const header = { unit: 'pt', regions: [{ name: 'hdr', x0: 20, y0: 10, x1: 772, y1: 70 }] };
    const plain = path.join(work, 'plain.png');
    const red = path.join(work, 'red.png');
    assert.equal(run(['preview', PDF, '-o', plain, '--dpi', '100']).code, 0);
    const r = run(['preview', PDF, '-o', red, '--dpi', '100', '--redact-regions-file', writeJson('hdr.json', header)]);
    assert.equal(r.code, 0, r.stderr);
    const a = readPng(fs.readFileSync(plain));
    const b = readPng(fs.readFileSync(red));
    // Inside the area (away from the outline and the label): text before,
    // only white after.
    const x0 = MARGIN + Math.floor((20 * dpi) / 72) + 4;
    const x1 = MARGIN + Math.ceil((772 * dpi) / 72) - 4;
    const y0 = MARGIN + Math.floor((10 * dpi) / 72) + 18;
    const y1 = MARGIN + Math.ceil((70 * dpi) / 72) - 4;
    assert.ok(a.min(x0, y0, x1, y1) < 100, 'the header has dark text');
    assert.equal(b.min(x0, y0, x1, y1), 255, 'the header is painted white');
    // The outline is grey; below it the page is untouched.
    assert.equal(hex(b.at(MARGIN + Math.floor((20 * dpi) / 72), Math.floor((y0 + y1) / 2))), hex(REDACT));
    const below = [MARGIN + 100, MARGIN + px(100, dpi) + 40, MARGIN + 700, MARGIN + px(300, dpi)];
    assert.equal(a.min(...below), b.min(...below));
  });

  test('errors: usage (2), unreadable input or missing page (3)', () => {
    let r = run(['preview', PDF]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give -o OUT.png/);
    r = run(['preview', '-o', path.join(work, 'x.png')]);
    assert.equal(r.code, 2);
    r = run(['preview', PDF, '-o', path.join(work, 'x.png'), '--dpi', '20']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--image-dpi=20: must be an integer from 36 to 600/);
    r = run(['preview', PDF, '-o', path.join(work, 'x.png'), '--crop-regions', '{"unit":"cm"}']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CROP_REGIONS|crop-regions/);
    r = run(['preview', path.join(IN, 'nope.pdf'), '-o', path.join(work, 'x.png')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /nope\.pdf: not found/);
    r = run(['preview', path.join(IN, 'variant_one_page.pdf'), '-o', path.join(work, 'x.png')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /page 2 does not exist \(the PDF has 1\)/);
    r = run(['preview', path.join(IN, 'variant_encrypted.pdf'), '-o', path.join(work, 'x.png')]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /encrypted/);
    assert.ok(!fs.existsSync(path.join(work, 'x.png')));
  });

  // Settings pass on by their type in the settings table: a boolean takes
  // no argument, so the PDF after it is the PDF (this failed with "give
  // the PDF to preview" while preview guessed from a list of its own).
  test('a boolean setting before the file does not swallow it', () => {
    const out = path.join(work, 'bool.png');
    let r = run(['preview', '--extract-waveforms', PDF, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(out));
    r = run(['preview', '--no-progress', '--crop-leads', PDF, '--crop-page', '2', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    r = run(['preview', '--extract-waveformz', PDF, '-o', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--extract-waveformz: unknown option; did you mean --extract-waveforms\?/);
    r = run(['preview', PDF, 'other.pdf', '-o', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unexpected argument 'other.pdf'/);
  });

  test('--help describes the command', () => {
    const r = run(['preview', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: bpecg-etl preview FILE.pdf/);
    assert.match(run(['help']).stdout, /preview FILE.pdf/);
  });
});

describe('REDACT_REGIONS in a run', () => {
  // A crop across the patient header and the first row of leads; the
  // redaction covers its upper half.
  const crop = { unit: 'pt', regions: [{ name: 'top', x0: 40, y0: 10, x1: 400, y1: 200 }] };
  const redact = { unit: 'pt', regions: [{ name: 'hdr', x0: 0, y0: 0, x1: 792, y1: 70 }] };
  for (const mode of ['clip', 'page']) {
    test(`the redacted area is white in the crop, the rest is not (${mode})`, () => {
      const plain = path.join(work, `r-plain-${mode}`);
      const red = path.join(work, `r-red-${mode}`);
      const args = ['run', '--source', IN, '--dest', plain, '--crops', writeJson('top.json', crop), '--render-mode', mode];
      assert.notEqual(run(args).code, 2);
      args[4] = red;
      const r = run(args, { REDACT_REGIONS: JSON.stringify(redact) });
      assert.notEqual(r.code, 2, r.stderr);
      const a = readJpeg(path.join(plain, 'images/ecg_00000/top.jpg'));
      const b = readJpeg(path.join(red, 'images/ecg_00000/top.jpg'));
      assert.equal(a.width, b.width);
      // The crop starts at y = 10 pt; the redaction ends at 70 pt: crop
      // rows 0..83 at 100 dpi, less a margin for JPEG ringing.
      const cut = Math.ceil((70 * 100) / 72) - px(10, 100);
      assert.ok(a.min(4, 4, a.width - 4, cut - 6) < 100, 'the header is there without redaction');
      assert.ok(b.min(4, 4, b.width - 4, cut - 6) >= 245, 'the header is white with it');
      // Below it the leads are still drawn, as before.
      assert.ok(b.min(4, cut + 6, b.width - 4, b.height - 4) < 100, 'the leads are kept');
    });
  }

  test('bad redaction regions stop the run (exit 2)', () => {
    const r = run(['run', '--source', IN, '--dest', path.join(work, 'never')], {
      REDACT_REGIONS: '{"unit":"pt","regions":[{"name":"a","x0":5,"y0":0,"x1":1,"y1":1}]}',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /REDACT_REGIONS: regions\[0\]\.x1/);
    assert.ok(!fs.existsSync(path.join(work, 'never', 'metadata')));
  });
});
