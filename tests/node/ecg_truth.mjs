// The recordings behind three real ECG PDFs of ../shared/corpus/ecg, read
// independently of bpecg-etl, and the drawing rules its README states, so
// extracted leads can be compared with what was drawn:
// - PTB-XL CSV (mV, 500 Hz) for the ecgtizer renderings;
// - DICOM 12-lead ECG (WaveformData, explicit VR little endian) for the
//   dicom-ecg-plot rendering, through the Butterworth band-pass it applies;
// - EDF (the Kardia recording, a second opinion: the author's own
//   conversion of the PDF).
import fs from 'node:fs';

export const LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

// { lead: Float64Array } from a CSV with a header row of lead names.
export function readCsvLeads(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const names = lines[0].split(',').map((s) => s.trim());
  const cols = names.map(() => new Float64Array(lines.length - 1));
  for (let i = 1; i < lines.length; i++) {
    const v = lines[i].split(',');
    for (let c = 0; c < names.length; c++) cols[c][i - 1] = Number(v[c]);
  }
  return Object.fromEntries(names.map((n, c) => [n, cols[c]]));
}

// A centred 5-sample moving average with reflected edges (d c b | a b c d),
// as ecgtizer smooths each column's chunk before drawing it.
export function smooth5(x) {
  const n = x.length;
  const at = (i) => x[i < 0 ? -i : i >= n ? 2 * n - 2 - i : i];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (at(i - 2) + at(i - 1) + at(i) + at(i + 1) + at(i + 2)) / 5;
  return out;
}

// The elements of a DICOM file (explicit VR little endian after the
// 128-byte preamble), sequences walked depth first: [{ group, element,
// vr, value: Buffer }].
export function readDicom(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 128, 132) !== 'DICM') throw new Error(`${file}: not DICOM`);
  const LONG = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'UC', 'UR', 'OV']);
  const out = [];
  const walk = (pos, end) => {
    while (pos < end) {
      const group = b.readUInt16LE(pos);
      const element = b.readUInt16LE(pos + 2);
      if (group === 0xfffe) {
        const len = b.readUInt32LE(pos + 4);
        pos += 8;
        if (element === 0xe000) {
          if (len === 0xffffffff) pos = walk(pos, end);
          else {
            walk(pos, pos + len);
            pos += len;
          }
        } else if (element === 0xe00d || element === 0xe0dd) {
          return pos;
        }
        continue;
      }
      const vr = b.toString('latin1', pos + 4, pos + 6);
      let len;
      if (LONG.has(vr)) {
        len = b.readUInt32LE(pos + 8);
        pos += 12;
      } else {
        len = b.readUInt16LE(pos + 6);
        pos += 8;
      }
      if (vr === 'SQ') {
        if (len === 0xffffffff) pos = walk(pos, end);
        else {
          walk(pos, pos + len);
          pos += len;
        }
        continue;
      }
      out.push({ group, element, vr, value: b.subarray(pos, pos + len) });
      pos += len;
    }
    return pos;
  };
  walk(132, b.length);
  return out;
}

// The first waveform of a DICOM ECG as { rate, leads: { name: mV[] } }.
export function dicomLeads(file) {
  const el = readDicom(file);
  const find = (g, e) => el.findIndex((x) => x.group === g && x.element === e);
  const str = (x) => x.value.toString('latin1').replace(/\0/g, '').trim();
  const channels = el[find(0x003a, 0x0005)].value.readUInt16LE(0);
  const samples = el[find(0x003a, 0x0010)].value.readUInt32LE(0);
  const rate = Number(str(el[find(0x003a, 0x001a)]));
  const dataAt = find(0x5400, 0x1010);
  // The channel definitions before the data: source name, sensitivity.
  const names = [];
  const sens = [];
  for (let i = find(0x003a, 0x0005); i < dataAt; i++) {
    const x = el[i];
    if (x.group === 0x0008 && x.element === 0x0104 && /^Lead /.test(str(x)))
      names.push(str(x).replace(/^Lead /, '').replace(/ \(.*\)$/, ''));
    if (x.group === 0x003a && x.element === 0x0210) sens.push(Number(str(x)));
  }
  if (names.length !== channels || sens.length !== channels) throw new Error(`${file}: ${names.length} channels named`);
  const data = el[dataAt].value;
  const leads = {};
  names.forEach((n, c) => {
    const v = new Float64Array(samples);
    // Interleaved: sample-major, 16-bit signed; sensitivity in uV.
    for (let k = 0; k < samples; k++) v[k] = (data.readInt16LE(2 * (k * channels + c)) * sens[c]) / 1000;
    leads[n] = v;
  });
  return { rate, leads };
}

// scipy.signal.butter(1, [lo, hi], btype='band', fs=fs) as [b, a]: the
// analog prototype's pole moved to the band (lp2bp), then the bilinear
// transform, on scipy's frequencies pre-warped for fs = 2.
export function butterBand1(lo, hi, fs) {
  const warp = (f) => 4 * Math.tan((Math.PI * (f / (fs / 2))) / 2);
  const wl = warp(lo);
  const wh = warp(hi);
  const bw = wh - wl;
  const w02 = wl * wh;
  const K = 4; // s = 2 * fs' * (z - 1) / (z + 1) with fs' = 2
  // H(s) = bw s / (s^2 + bw s + w0^2)
  const a0 = K * K + bw * K + w02;
  return [
    [(bw * K) / a0, 0, (-bw * K) / a0],
    [1, (2 * w02 - 2 * K * K) / a0, (K * K - bw * K + w02) / a0],
  ];
}

// scipy.signal.lfilter(b, a, x) for second-order b, a (zero initial state).
export function lfilter2(b, a, x) {
  const y = new Float64Array(x.length);
  let z1 = 0;
  let z2 = 0;
  for (let i = 0; i < x.length; i++) {
    const yi = b[0] * x[i] + z1;
    z1 = b[1] * x[i] - a[1] * yi + z2;
    z2 = b[2] * x[i] - a[2] * yi;
    y[i] = yi;
  }
  return y;
}

// An EDF file's signals as { label: { rate, v: Float64Array } } (physical
// units).
export function readEdf(file) {
  const b = fs.readFileSync(file);
  const txt = (o, n) => b.toString('latin1', o, o + n).trim();
  const ns = Number(txt(252, 4));
  const records = Number(txt(236, 8));
  const duration = Number(txt(244, 8));
  const field = (before, width) =>
    Array.from({ length: ns }, (_, i) => txt(256 + before * ns + i * width, width));
  const labels = field(0, 16);
  const pmin = field(16 + 80 + 8, 8).map(Number);
  const pmax = field(16 + 80 + 8 + 8, 8).map(Number);
  const dmin = field(16 + 80 + 8 + 16, 8).map(Number);
  const dmax = field(16 + 80 + 8 + 24, 8).map(Number);
  const spr = field(16 + 80 + 8 + 32 + 80, 8).map(Number);
  const recLen = spr.reduce((s, n) => s + n, 0);
  const out = {};
  let off = 0;
  labels.forEach((label, i) => {
    const v = new Float64Array(records * spr[i]);
    for (let r = 0; r < records; r++) {
      for (let k = 0; k < spr[i]; k++) {
        const d = b.readInt16LE(256 + 256 * ns + 2 * (r * recLen + off + k));
        v[r * spr[i] + k] = ((d - dmin[i]) / (dmax[i] - dmin[i])) * (pmax[i] - pmin[i]) + pmin[i];
      }
    }
    off += spr[i];
    out[label] = { rate: spr[i] / duration, v };
  });
  return out;
}

// x linearly interpolated at position p (an index, fractional), or NaN
// outside [0, n-1].
export function interp(x, p) {
  if (!(p >= 0) || p > x.length - 1) return NaN;
  const i = Math.floor(p);
  const f = p - i;
  return i + 1 < x.length ? x[i] + f * (x[i + 1] - x[i]) : x[i];
}

export function pearson(a, b) {
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
    sab += a[i] * b[i];
  }
  return (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
}

export function rmse(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

export function rms(a) {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / a.length);
}
