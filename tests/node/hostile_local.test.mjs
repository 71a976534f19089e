// What hostile inputs do to a local run: names, settings, PDFs whose
// errors quote patient data. Every case here failed before issue 15.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { logLines, makePdf, run, tmpDir } from './hostile_common.mjs';

const work = tmpDir('bpecg-hostile-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

describe('patient data in MuPDF messages', () => {
  // A damaged content stream: MuPDF reports each unknown operator by
  // quoting it, and here the operators are a patient's name and MRN.
  const src = path.join(work, 'mupdf-src');
  fs.mkdirSync(src);
  fs.writeFileSync(
    path.join(src, 'report.pdf'),
    makePdf('BT /F1 24 Tf 72 700 Td (Report) Tj ET Jane MRN-55512345 Doe'),
  );

  test('DEBUG logs name the message class, never the quoted tokens', () => {
    const r = run(['run', '--source', src, '--dest', path.join(work, 'mupdf-out1')], {
      LOG_LEVEL: 'DEBUG',
      DEBUG_PAYLOADS: '0',
    });
    assert.equal(r.code, 0, r.stderr);
    const mupdf = logLines(r.stderr).filter((l) => /^mupdf_|^pdf_op_failed$/.test(l.event));
    assert.ok(mupdf.length >= 2, 'MuPDF messages are still logged');
    assert.ok(mupdf.some((l) => l.message === 'unknown keyword [redacted]'), JSON.stringify(mupdf));
    for (const word of ['Jane', 'Doe', '55512345', 'MRN']) assert.ok(!r.stderr.includes(word), `${word} in the log`);
  });

  test('DEBUG_PAYLOADS=1 logs them as MuPDF wrote them', () => {
    const r = run(['run', '--source', src, '--dest', path.join(work, 'mupdf-out2')], {
      LOG_LEVEL: 'DEBUG',
      DEBUG_PAYLOADS: '1',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(logLines(r.stderr).some((l) => l.message === "unknown keyword: 'Jane'"));
  });
});
