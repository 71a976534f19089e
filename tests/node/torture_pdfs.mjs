// The torture set's generator (torture_set.test.mjs): hostile and broken
// PDFs made from good ones, the same bytes for the same seed.
//
//   mutants(pdfs, seed)  byte flips and truncations of good PDFs
//   hostile()            hand-built files: deep nesting, huge images,
//                        gigantic and zero-size page boxes, loops, bombs
//
// Both return [{ name, bytes, kind }]; names end in .pdf.
import zlib from 'node:zlib';

// mulberry32: a small, well-mixed 32-bit PRNG; deterministic on any Node.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Random byte flips (1 to 8 bytes in half of them, up to 64 in the rest,
// anywhere) and truncations (1 and 9 bytes, as a broken upload leaves,
// then anywhere) of each good PDF.
export function mutants(pdfs, seed, { flips = 6, cuts = 4 } = {}) {
  const rnd = prng(seed);
  const int = (n) => Math.floor(rnd() * n);
  const out = [];
  for (const { name, bytes } of pdfs) {
    const base = name.replace(/\.pdf$/i, '');
    for (let i = 0; i < flips; i++) {
      const b = Buffer.from(bytes);
      const n = 1 + int(i < flips / 2 ? 8 : 64);
      for (let k = 0; k < n; k++) b[int(b.length)] = int(256);
      out.push({ name: `flip_${base}_${i}.pdf`, bytes: b, kind: 'flip' });
    }
    for (let i = 0; i < cuts; i++) {
      const len = i === 0 ? 1 : i === 1 ? 9 : 1 + int(bytes.length - 1);
      out.push({ name: `cut_${base}_${i}.pdf`, bytes: Buffer.from(bytes.subarray(0, len)), kind: 'cut' });
    }
  }
  return out;
}

// A PDF from object bodies (object i + 1 is bodies[i]) with a correct
// cross-reference table, or none; /Root is object 1.
export function pdf(bodies, { xref = true } = {}) {
  const parts = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let len = parts[0].length;
  const offsets = [];
  bodies.forEach((body, i) => {
    offsets.push(len);
    const b = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`),
      Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
      Buffer.from('\nendobj\n'),
    ]);
    parts.push(b);
    len += b.length;
  });
  const trailer = `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R >>\n`;
  if (xref) {
    const rows = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
    parts.push(Buffer.from(`xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n${rows}${trailer}startxref\n${len}\n%%EOF\n`));
  } else {
    parts.push(Buffer.from(`${trailer}%%EOF\n`));
  }
  return Buffer.concat(parts);
}

export function stream(data, dict = '', { flate = false } = {}) {
  let body = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
  if (flate) {
    body = zlib.deflateSync(body);
    dict += ' /Filter /FlateDecode';
  }
  return Buffer.concat([Buffer.from(`<< /Length ${body.length} ${dict} >>\nstream\n`), body, Buffer.from('\nendstream')]);
}

const FONT = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
const TEXT = 'BT /F1 12 Tf 72 720 Td (Torture report page) Tj ET';

// Two pages like a report: text on page 1; page 2 (the crop page) gets the
// caller's extra dictionary entries, content (text or a built stream) and
// extra objects, numbered from 8.
function twoPages({ page2 = '/MediaBox [0 0 792 612]', content2 = '0 0 m 100 100 l S', extra = [] } = {}) {
  return pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 6 0 R >>',
    `<< /Type /Page /Parent 2 0 R ${page2} /Contents 7 0 R >>`,
    FONT,
    stream(TEXT),
    Buffer.isBuffer(content2) ? content2 : stream(content2),
    ...extra,
  ]);
}

function onePage(box, content = TEXT) {
  return pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox ${box} /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>`,
    FONT,
    stream(content),
  ]);
}

export function hostile() {
  const out = [];
  const add = (name, bytes) => out.push({ name: `hostile_${name}.pdf`, bytes, kind: 'hostile' });

  // Deep object nesting: arrays and dictionaries in the crop page's
  // resources, and operands nested in its content stream.
  const depth = 100000;
  add('deep_arrays', twoPages({ page2: `/MediaBox [0 0 792 612] /Resources << /X ${'['.repeat(depth)}${']'.repeat(depth)} >>` }));
  add('deep_dicts', twoPages({ page2: `/MediaBox [0 0 792 612] /Resources ${'<< /A '.repeat(depth)}1${' >>'.repeat(depth)}` }));
  add('deep_content', twoPages({ content2: `${'['.repeat(depth)} ${'q '.repeat(depth)}0 0 m 9 9 l S` }));

  // Form XObjects nested 3000 deep (form i, object 8 + i, draws form
  // i + 1), and one that draws itself.
  const forms = [];
  const nforms = 3000;
  for (let i = 0; i < nforms; i++) {
    const last = i + 1 === nforms;
    const res = last ? '' : `/XObject << /F ${9 + i} 0 R >>`;
    forms.push(stream(last ? '0 0 m 5 5 l S' : '/F Do 0 0 m 5 5 l S', `/Type /XObject /Subtype /Form /BBox [0 0 792 612] /Resources << ${res} >>`));
  }
  const formPage = '/MediaBox [0 0 792 612] /Resources << /XObject << /F 8 0 R >> >>';
  add('deep_forms', twoPages({ page2: formPage, content2: '/F Do', extra: forms }));
  add('form_cycle', twoPages({
    page2: formPage,
    content2: '/F Do',
    extra: [stream('/F Do', '/Type /XObject /Subtype /Form /BBox [0 0 9 9] /Resources << /XObject << /F 8 0 R >> >>')],
  }));

  // A page tree 5000 levels deep, one whose Kids point back up, and one
  // whose /Count lies.
  const levels = 5000;
  const tree = ['<< /Type /Catalog /Pages 2 0 R >>'];
  for (let i = 0; i < levels; i++) {
    tree.push(`<< /Type /Pages /Kids [${i + 3} 0 R] /Count 1 ${i ? `/Parent ${i + 1} 0 R` : ''} >>`);
  }
  tree.push(`<< /Type /Page /Parent ${levels + 1} 0 R /MediaBox [0 0 612 792] >>`);
  add('deep_page_tree', pdf(tree));
  add('page_tree_loop', pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 3 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>',
  ]));
  add('count_lies', pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>',
  ]));

  // Huge images drawn over the whole crop page: declared 100000 x 100000
  // with almost no data, a flate bomb (64 MiB of zeros in ~64 KiB), and an
  // inline image that claims 60000 x 60000.
  const imagePage = (img) => twoPages({ page2: '/MediaBox [0 0 792 612] /Resources << /XObject << /I 8 0 R >> >>', content2: 'q 792 0 0 612 0 0 cm /I Do Q', extra: [img] });
  add('huge_image_declared', imagePage(stream(Buffer.alloc(64), '/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB /BitsPerComponent 8')));
  add('huge_image_bomb', imagePage(stream(Buffer.alloc(64 << 20), '/Type /XObject /Subtype /Image /Width 8192 /Height 8192 /ColorSpace /DeviceGray /BitsPerComponent 8', { flate: true })));
  add('huge_inline_image', twoPages({ content2: 'q 792 0 0 612 0 0 cm BI /W 60000 /H 60000 /CS /RGB /BPC 8 ID \x00\x01\x02 EI Q' }));

  // Gigantic page boxes, on the crop page and on the text page.
  add('giant_mediabox', twoPages({ page2: '/MediaBox [0 0 1e9 1e9]' }));
  add('giant_userunit', twoPages({ page2: '/MediaBox [0 0 14400 14400] /UserUnit 75000' }));
  add('giant_float_box', twoPages({ page2: '/MediaBox [-3.4e38 -3.4e38 3.4e38 3.4e38]' }));
  add('giant_text_page', onePage('[0 0 2e9 2e9]'));

  // Zero-size, inverted and nonsense page boxes.
  add('zero_mediabox', twoPages({ page2: '/MediaBox [0 0 0 0]' }));
  add('zero_width_page', twoPages({ page2: '/MediaBox [100 100 100 700]' }));
  add('inverted_mediabox', twoPages({ page2: '/MediaBox [792 612 0 0] /CropBox [10 10 10 10]' }));
  add('nonsense_mediabox', twoPages({ page2: '/MediaBox [/a (b) null true]' }));
  add('zero_text_page', onePage('[0 0 0 0]'));

  // A long content stream (300000 wide dashed lines: far more work than
  // any budget allows, in little memory), stream lengths that
  // lie, an xref that claims ten million objects, and no xref at all.
  add('long_content', twoPages({ content2: stream(Buffer.from('[0.5 0.5] 0 d 40 w 0 0 m 792 612 l S\n'.repeat(300000)), '', { flate: true }) }));
  const good = twoPages().toString('latin1');
  add('bad_length', Buffer.from(good.replace(/\/Length \d+/g, '/Length 99999999'), 'latin1'));
  add('xref_claims_millions', Buffer.from(good.replace(/xref\n0 \d+/, 'xref\n0 10000000'), 'latin1'));
  add('no_xref', pdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>',
  ], { xref: false }));
  return out;
}
