// ECG report PDFs drawn the ways real devices draw them, written here from
// scratch (a minimal PDF writer, no MuPDF) from a known signal, so waveform
// extraction can be checked against the truth on layouts the project's
// own generator never makes: labels below or spaced out, pulses sampled or
// in separate strokes, a row of four leads as one polyline, 50 mm/s, pages
// scaled to fit, content turned 90 degrees with and without /Rotate, one
// recording over two pages, leads spread over pages, a single lead wrapped
// over rows. Each style returns the PDF and what was drawn.

export const LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
const MM = 72 / 25.4;

// A synthetic 12-lead signal (mV): a beat about every 0.83 s (with the
// slight sinus arrhythmia of a real heart) of P, QRS and T waves from a
// frontal-plane dipole (so II = I + III and aVR + aVL + aVF = 0 hold
// exactly) and chest leads of their own.
const ANGLE = { I: 0, II: 60, III: 120, aVR: -150, aVL: -30, aVF: 90 };
const WAVES = [
  // at (s after the beat), sigma, frontal amplitude, frontal angle, chest amplitudes V1..V6
  [-0.16, 0.025, 0.15, 50, [0.05, 0.08, 0.1, 0.1, 0.1, 0.08]],
  [-0.02, 0.008, -0.15, 10, [-0.1, -0.05, 0, 0.1, 0.15, 0.1]],
  [0.0, 0.011, 1.2, 45, [-0.6, -0.2, 0.5, 1.2, 1.5, 1.1]],
  [0.03, 0.01, -0.3, 80, [-1.2, -1.4, -0.8, -0.4, -0.2, -0.1]],
  [0.28, 0.05, 0.35, 40, [-0.1, 0.3, 0.4, 0.35, 0.3, 0.25]],
];
export function signal(lead, t) {
  const rr = 0.83;
  let v = 0;
  const beat0 = Math.floor(t / rr);
  for (let b = beat0 - 1; b <= beat0 + 1; b++) {
    const onset = b * rr + 0.25 + 0.04 * Math.sin(1.7 * b);
    for (const [at, sigma, amp, angle, chest] of WAVES) {
      const d = t - onset - at;
      const g = Math.exp((-d * d) / (2 * sigma * sigma));
      const a = lead in ANGLE ? amp * Math.cos(((ANGLE[lead] - angle) * Math.PI) / 180) : chest[LEADS.indexOf(lead) - 6];
      v += a * g;
    }
  }
  // Slow wander, in the dipole too for the limb leads.
  const wx = 0.05 * Math.sin(0.9 * t);
  const wy = 0.04 * Math.sin(0.6 * t + 1);
  if (lead in ANGLE) {
    const th = (ANGLE[lead] * Math.PI) / 180;
    v += wx * Math.cos(th) + wy * Math.sin(th);
  } else {
    v += 0.03 * Math.sin(0.7 * t + LEADS.indexOf(lead));
  }
  return v;
}

// A content stream in page space (y down from the top of a page h high).
class Content {
  constructor(h) {
    this.h = h;
    this.ops = [];
  }
  n(v) {
    return (Math.round(v * 1000) / 1000).toString();
  }
  raw(s) {
    this.ops.push(s);
  }
  pen(gray, width) {
    this.ops.push(`${gray} G ${this.n(width)} w`);
  }
  rgb(r, g, b, width) {
    this.ops.push(`${r} ${g} ${b} RG ${this.n(width)} w`);
  }
  // One stroked polyline, or one path of separate strokes.
  poly(points) {
    const s = points.map(([x, y], i) => `${this.n(x)} ${this.n(this.h - y)} ${i ? 'l' : 'm'}`);
    this.ops.push(`${s.join('\n')}\nS`);
  }
  line(x0, y0, x1, y1) {
    this.poly([
      [x0, y0],
      [x1, y1],
    ]);
  }
  dot(x, y, r) {
    const h = this.h;
    this.ops.push(`${this.n(x - r)} ${this.n(h - y - r)} ${this.n(2 * r)} ${this.n(2 * r)} re f`);
  }
  text(x, y, size, s) {
    const esc = s.replace(/[\\()]/g, (c) => `\\${c}`);
    this.ops.push(`BT /F1 ${size} Tf 1 0 0 1 ${this.n(x)} ${this.n(this.h - y)} Tm (${esc}) Tj ET`);
  }
  toString() {
    return `${this.ops.join('\n')}\n`;
  }
}

// A minimal PDF: one Helvetica font, pages of given size, content and
// /Rotate; a correct xref.
export function writePdf(pages) {
  const objs = [];
  const add = (s) => {
    objs.push(s);
    return objs.length;
  };
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const pagesId = objs.length + 1 + pages.length * 2;
  const kids = [];
  for (const p of pages) {
    const body = p.content.toString();
    const c = add(`<< /Length ${Buffer.byteLength(body, 'latin1')} >>\nstream\n${body}endstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 ${p.w} ${p.h}]${p.rotate ? ` /Rotate ${p.rotate}` : ''} /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${c} 0 R >>`,
      ),
    );
  }
  add(`<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`);
  const catalog = add(`<< /Type /Catalog /Pages ${pagesId} 0 R >>`);
  let out = '%PDF-1.4\n';
  const offs = [];
  objs.forEach((o, i) => {
    offs.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const o of offs) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// Drawing helpers. `o` holds the scale: pt per mm (s), mm/s, mm/mV.
function grid(c, o, x0, y0, x1, y1, { minor = true, dots = false } = {}) {
  const mm = o.s;
  if (dots) {
    c.raw('0.6 g');
    for (let x = x0; x <= x1 + 0.01; x += mm) for (let y = y0; y <= y1 + 0.01; y += mm) c.dot(x, y, 0.1 * mm);
    c.raw('0 g');
  } else if (minor) {
    c.rgb(1, 0.85, 0.85, 0.1);
    for (let x = x0; x <= x1 + 0.01; x += mm) c.line(x, y0, x, y1);
    for (let y = y0; y <= y1 + 0.01; y += mm) c.line(x0, y, x1, y);
  }
  c.rgb(0.95, 0.6, 0.6, 0.4);
  for (let x = x0; x <= x1 + 0.01; x += 5 * mm) c.line(x, y0, x, y1);
  for (let y = y0; y <= y1 + 0.01; y += 5 * mm) c.line(x0, y, x1, y);
}

// The lead from t0 to t1 as vertices every dt from x0 at baseline y0.
function tracePoints(o, lead, t0, t1, x0, y0, dt = 0.002) {
  const pts = [];
  const n = Math.round((t1 - t0) / dt);
  for (let k = 0; k <= n; k++) {
    const t = t0 + k * dt;
    pts.push([x0 + (t - t0) * o.speed * o.s, y0 - signal(lead, t) * o.gain * o.s]);
  }
  return pts;
}

// A 1 mV pulse 0.2 s wide ending at x; kinds: "poly" (6 vertices),
// "sampled" (a square wave every 0.2 mm, sloped edges), "strokes".
function pulse(c, o, x, y0, kind) {
  const w = 0.2 * o.speed * o.s;
  const h = o.gain * o.s;
  const x0 = x - w - 2 * o.s;
  if (kind === 'strokes') {
    c.line(x0 - 2 * o.s, y0, x0, y0);
    c.line(x0, y0, x0, y0 - h);
    c.line(x0, y0 - h, x0 + w, y0 - h);
    c.line(x0 + w, y0 - h, x0 + w, y0);
    c.line(x0 + w, y0, x0 + w + 2 * o.s, y0);
  } else if (kind === 'sampled') {
    const pts = [];
    const step = 0.2 * o.s;
    for (let xx = x0 - 1 * o.s; xx <= x0 + w + 1 * o.s + 1e-6; xx += step)
      pts.push([xx, xx >= x0 && xx <= x0 + w ? y0 - h : y0]);
    c.poly(pts);
  } else {
    c.poly([
      [x0 - 2 * o.s, y0],
      [x0, y0],
      [x0, y0 - h],
      [x0 + w, y0 - h],
      [x0 + w, y0],
      [x0 + w + 1.5 * o.s, y0],
    ]);
  }
}

function label(c, x, y, size, name, spaced) {
  if (!spaced) return c.text(x, y, size, name);
  // One glyph at a time with a space's gap, as ecgtizer writes "a V R".
  let at = x;
  for (const ch of name) {
    c.text(at, y, size, ch);
    at += size * 0.6;
  }
}

// A 3x4 + rhythm page (792 x 612). opts: rhythms (leads of the rhythm
// strips, default ['II']), labelAt ("above" | "below"), spaced, pulse kind
// or null, rowPolyline, rowBaseOnGrid, legend text, grid options.
function page3x4(o, opts) {
  const W = 792;
  const H = 612;
  const c = new Content(H);
  const gx0 = 30;
  const gy0 = 80;
  const rhythms = opts.rhythms || ['II'];
  const rows = 3 + rhythms.length;
  const pitch = (rows > 4 ? 22 : 26) * o.s;
  const gx1 = gx0 + 260 * o.s;
  const gy1 = gy0 + rows * pitch + 10 * o.s;
  grid(c, o, gx0, gy0, gx1, gy1, opts.grid || {});
  const left = gx0 + 15 * o.s;
  const colW = 2.5 * o.speed * o.s;
  const truth = [];
  const labelY = (y0) => (opts.labelAt === 'below' ? y0 + 6 * o.s : y0 - (rows > 4 ? 10 : 12) * o.s);
  c.pen(0, 0.6);
  for (let r = 0; r < rows; r++) {
    let y0 = gy0 + (r + 0.7) * pitch;
    if (opts.rowBaseOnGrid) y0 = gy0 + Math.round((y0 - gy0) / (5 * o.s)) * 5 * o.s;
    if (opts.pulse) pulse(c, o, left - 1 * o.s, y0, opts.pulse);
    c.pen(0, 0.6);
    if (r >= 3) {
      const lead = rhythms[r - 3];
      c.poly(tracePoints(o, lead, 0, 10, left, y0));
      label(c, left + 1.5 * o.s, labelY(y0), 9, lead, opts.spaced);
      truth.push({ lead, rhythm: true, t0: 0, t1: 10 });
      continue;
    }
    const names = [0, 1, 2, 3].map((col) => LEADS[col * 3 + r]);
    if (opts.rowPolyline) {
      const pts = [];
      names.forEach((n, col) => {
        const seg = tracePoints(o, n, col * 2.5, (col + 1) * 2.5, left + col * colW, y0, 0.004);
        pts.push(...(col ? seg.slice(1) : seg));
      });
      c.poly(pts);
    } else {
      names.forEach((n, col) => c.poly(tracePoints(o, n, col * 2.5, (col + 1) * 2.5 - 0.004, left + col * colW + 0.4 * o.s, y0)));
    }
    names.forEach((n, col) => {
      label(c, left + col * colW + 1.5 * o.s, labelY(y0), 9, n, opts.spaced);
      truth.push({ lead: n, rhythm: false, t0: col * 2.5, t1: (col + 1) * 2.5 });
    });
  }
  if (opts.legend) c.text(gx0, gy1 + 14, 8, opts.legend);
  return { c, W, H, truth };
}

// Rows of full-width strips, one lead each (6x1, 12x1), from t0 to t1.
function pageRows(o, names, t0, t1, opts = {}) {
  const W = opts.portrait ? 612 : 792;
  const H = opts.portrait ? 792 : 612;
  const c = new Content(H);
  const gx0 = 20;
  const gy0 = 60;
  const pitch = ((H - 140) / names.length / o.s) * o.s;
  const left = gx0 + (opts.pulse ? 12 : 4) * o.s;
  const gx1 = left + (t1 - t0) * o.speed * o.s + 4 * o.s;
  grid(c, o, gx0, gy0, gx1, gy0 + names.length * pitch, opts.grid || {});
  c.pen(0, 0.5);
  const truth = [];
  names.forEach((n, r) => {
    const y0 = gy0 + (r + 0.6) * pitch;
    if (opts.pulse) pulse(c, o, left - 1 * o.s, y0, opts.pulse);
    const pts = tracePoints(o, n, t0, t1, left, y0, opts.dt || 0.002);
    if (opts.pieces) {
      for (let i = 0; i < pts.length - 1; i += opts.pieces) c.poly(pts.slice(i, i + opts.pieces + 1));
    } else {
      c.poly(pts);
    }
    if (!opts.noLabels) label(c, left + 1 * o.s, opts.labelAt === 'below' ? y0 + 5 * o.s : y0 - 8 * o.s, 8, n);
    truth.push({ lead: n, rhythm: false, t0, t1 });
  });
  if (opts.legend) c.text(gx0, H - 30, 8, opts.legend);
  return { c, W, H, truth };
}

// Content turned a quarter counter-clockwise onto a portrait page; with
// rotate the page says /Rotate 90, so viewers show it upright.
function turned(p, rotate) {
  const inner = p.c.toString();
  const c = new Content(p.W);
  c.raw(`q 0 1 -1 0 ${p.H} 0 cm`);
  c.raw(inner);
  c.raw('Q');
  return { content: c, w: p.H, h: p.W, rotate: rotate ? 90 : 0 };
}

// Content scaled (to fit another paper size) about the page origin.
function scaled(p, k) {
  const c = new Content(p.H);
  c.raw(`q ${k} 0 0 ${k} 0 ${p.H * (1 - k)} cm`);
  c.raw(p.c.toString());
  c.raw('Q');
  return { content: c, w: p.W, h: p.H };
}

const plain = (p) => ({ content: p.c, w: p.W, h: p.H });
const unit = (speed = 25, gain = 10) => ({ s: MM, speed, gain });

// Every style: { name, pdf, truth: [{lead, rhythm, t0, t1, page}],
// expect: { layout, speed, gain, calibration, speedSource, labelled } }.
export function styles() {
  const out = [];
  const add = (name, pages, truth, expect) => out.push({ name, pdf: writePdf(pages), truth, expect });

  let p = page3x4(unit(), { labelAt: 'below', pulse: 'sampled', legend: '25mm/s   10mm/mV   150Hz' });
  add('muse_like', [plain(p)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true });

  p = page3x4(unit(), { labelAt: 'above', spaced: true, pulse: 'poly' });
  add('spaced_labels', [plain(p)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'grid', labelled: true });

  p = page3x4(unit(), { labelAt: 'above', rowPolyline: true, rowBaseOnGrid: true, grid: { minor: false }, legend: '25.0 mm/s | 10 mm/mV' });
  add('row_polylines', [plain(p)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'legend', speedSource: 'legend', labelled: true, baselineOnGrid: true });

  p = page3x4(unit(), { labelAt: 'below', pulse: 'strokes', legend: 'Speed: 25 mm/s  Gain: 10 mm/mV' });
  add('turned', [turned(p, false)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true });
  add('rotate_90', [turned(p, true)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true });

  p = page3x4(unit(), { labelAt: 'above', pulse: 'poly', legend: '25 mm/s 10 mm/mV' });
  add('scaled_to_fit', [scaled(p, 0.9)], p.truth, { layout: '3x4+1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true });

  // 50 mm/s, limb leads on page 1 and chest leads on page 2, 5 s strips,
  // labels below, no pulse.
  const o50 = unit(50);
  const limb = pageRows(o50, LEADS.slice(0, 6), 0, 5, { labelAt: 'below', legend: '50mm/s  10mm/mV  0.01-40Hz', dt: 0.004 });
  const chest = pageRows(o50, LEADS.slice(6), 0, 5, { labelAt: 'below', legend: '50mm/s  10mm/mV  0.01-40Hz', dt: 0.004 });
  add(
    'two_pages_50mm_s',
    [plain(limb), plain(chest)],
    [...limb.truth.map((t) => ({ ...t, page: 1 })), ...chest.truth.map((t) => ({ ...t, page: 2 }))],
    { layout: '6x1', speed: 50, gain: 10, calibration: 'legend', speedSource: 'legend', labelled: true },
  );

  // One 15 s six-lead recording over two portrait pages, 7.5 s each,
  // pulses on the first only, traces cut into 128-vertex pieces, a vertex
  // per 1/300 s.
  const k1 = pageRows(unit(), LEADS.slice(0, 6), 0, 7.5 - 1 / 300, { portrait: true, pulse: 'poly', pieces: 127, dt: 1 / 300, legend: 'Scale: 25mm/s, 10mm/mV' });
  const k2 = pageRows(unit(), LEADS.slice(0, 6), 7.5, 15 - 1 / 300, { portrait: true, pieces: 127, dt: 1 / 300, legend: 'Scale: 25mm/s, 10mm/mV' });
  add(
    'continued_over_pages',
    [plain(k1), plain(k2)],
    LEADS.slice(0, 6).map((lead) => ({ lead, rhythm: false, t0: 0, t1: 15 - 1 / 300, page: 1, pages: 2 })),
    // Page 2's rows sit where page 1's did: read with page 1's pulses.
    { layout: '6x1', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true },
  );

  // A single lead, 30 s in three rows of 10 s, no labels, dotted grid.
  const single = new Content(612);
  const os = unit();
  grid(single, os, 20, 60, 20 + 260 * os.s, 60 + 150 * os.s, { dots: true, minor: false });
  single.pen(0, 0.6);
  for (let r = 0; r < 3; r++) single.poly(tracePoints(os, 'I', r * 10, (r + 1) * 10 - 0.002, 30, 60 + (r + 0.5) * 50 * os.s));
  single.text(20, 590, 8, '25 mm/s, 10 mm/mV');
  add('single_lead_wrapped', [{ content: single, w: 792, h: 612 }], [{ lead: 'I', rhythm: false, t0: 0, t1: 30 - 0.002 }], {
    layout: '1x3w',
    speed: 25,
    gain: 10,
    calibration: 'legend',
    speedSource: 'legend',
    labelled: false,
  });

  // 3x4 with three rhythm strips (V1, II, V5), labelled.
  p = page3x4(unit(), { labelAt: 'above', pulse: 'poly', rhythms: ['V1', 'II', 'V5'], legend: '25 mm/s 10 mm/mV' });
  add('three_rhythm_strips', [plain(p)], p.truth, { layout: '3x4+3', speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true });

  // A 3x4 page, then a page of the same twelve leads as 10 s rows (a rhythm
  // page): the second page's rows are rhythm strips on the same time axis,
  // and its II, already read as page 1's rhythm strip, is not written twice.
  const first = page3x4(unit(), { labelAt: 'above', pulse: 'poly', legend: '25 mm/s 10 mm/mV' });
  const second = pageRows(unit(), LEADS, 0, 10, { labelAt: 'above', pulse: 'poly', legend: '25 mm/s 10 mm/mV' });
  add(
    'rhythm_page',
    [plain(first), plain(second)],
    [
      ...first.truth.map((t) => ({ ...t, page: 1 })),
      ...second.truth.filter((t) => t.lead !== 'II').map((t) => ({ ...t, rhythm: true, page: 2 })),
    ],
    { layout: '3x4+1', layouts: { 2: '12x1' }, speed: 25, gain: 10, calibration: 'pulse', speedSource: 'legend', labelled: true },
  );

  // Twelve unlabelled rows at 5 mm/mV: named by the layout's order.
  const o12 = unit(25, 5);
  const twelve = pageRows(o12, LEADS, 0, 10, { noLabels: true, legend: '25 mm/s  5 mm/mV' });
  add('twelve_rows_unlabelled', [plain(twelve)], twelve.truth, {
    layout: '12x1',
    speed: 25,
    gain: 5,
    calibration: 'legend',
    speedSource: 'legend',
    labelled: false,
  });
  return out;
}
