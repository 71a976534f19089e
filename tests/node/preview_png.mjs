// A small PNG and PPM reader for the preview, redaction and report tests:
// 8-bit RGB or RGBA, not interlaced (what MuPDF and Chromium write).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';

export function readPng(buf) {
  assert.ok(buf.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])), 'not a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colour = body[9];
      assert.equal(depth, 8, 'bit depth');
      assert.equal(body[12], 0, 'interlaced');
      channels = { 2: 3, 6: 4 }[colour];
      assert.ok(channels, `colour type ${colour}`);
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 3);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter ${filter}`);
      line[i] = (line[i] + add) & 255;
    }
    for (let x = 0; x < width; x++) line.copy(out, (y * width + x) * 3, x * channels, x * channels + 3);
    prev = line;
  }
  return image(width, height, out);
}

// Decode a JPEG with djpeg (libjpeg-turbo-progs) into RGB.
export function readJpeg(file) {
  const r = spawnSync('djpeg', ['-pnm', file], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `djpeg ${file}: ${r.stderr}`);
  const b = r.stdout;
  // P6\n<w> <h>\n255\n
  const head = b.toString('latin1', 0, 64).match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
  assert.ok(head, 'not a binary PPM');
  return image(Number(head[1]), Number(head[2]), b.subarray(head[0].length));
}

function image(width, height, rgb) {
  return {
    width,
    height,
    rgb,
    // 0xRRGGBB of pixel (x, y)
    at(x, y) {
      assert.ok(x >= 0 && y >= 0 && x < width && y < height, `(${x}, ${y}) outside ${width}x${height}`);
      const i = (y * width + x) * 3;
      return (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    },
    // The darkest channel value in a rectangle (255 = all white).
    min(x0, y0, x1, y1) {
      let m = 255;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 3;
          m = Math.min(m, rgb[i], rgb[i + 1], rgb[i + 2]);
        }
      return m;
    },
  };
}

export const hex = (c) => `#${c.toString(16).padStart(6, '0')}`;
