#!/usr/bin/env bash
# Page text must be byte for byte what PyMuPDF 1.21's page.get_text()
# returns, so users migrating from the Python original see the same strings.
#
# 1. A generated ECG corpus (gen_ecg_pdfs.py --variants): every PDF whose
#    sidecar holds PyMuPDF's page-1 text, plus the expected error of the
#    broken variants.
# 2. Variants PyMuPDF itself writes: rotated pages (90/180/270, and a
#    rotation inherited from the page tree), an annotation and ligatures.
# 3. The real-world hard corpus: every file python3-fitz can read must give
#    its text; every file it cannot read must fail here too (no crash).
# ok() always succeeds, so "test && ok || bad" is a plain if-else.
# shellcheck disable=SC2015
set -euo pipefail

BUILD=${BPECG_BUILD_DIR:?set BPECG_BUILD_DIR}
SHARED=${BPECG_SHARED_DIR:?set BPECG_SHARED_DIR}
PROBE=$BUILD/tests/pdf_probe
PY=/usr/bin/python3
[ -x "$PROBE" ] || { echo "missing $PROBE"; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# page_text FILE PAGE: PyMuPDF's text as UTF-8 on stdout; exit 3 when the
# file cannot be read (error, password, no such page).
cat >"$T/fitz_text.py" <<'EOF'
import sys
import fitz
fitz.TOOLS.mupdf_display_errors(False)
try:
    doc = fitz.open(sys.argv[1])
    if doc.needs_pass or doc.page_count < int(sys.argv[2]):
        sys.exit(3)
    text = doc[int(sys.argv[2]) - 1].get_text()
except Exception:
    sys.exit(3)
sys.stdout.buffer.write(text.encode("utf-8", "surrogatepass"))
EOF

# same_text FILE EXPECTED_FILE LABEL
same_text() {
    if "$PROBE" text "$1" 1 >"$T/got.txt" 2>"$T/err.txt" &&
        cmp -s "$T/got.txt" "$2"; then
        ok
    else
        bad "$3: text differs ($(head -c 80 "$T/got.txt" | tr '\n' '|'))"
    fi
}

# --- 1. generated corpus ----------------------------------------------
C=$T/ecg
"$PY" "$SHARED/bench/gen_ecg_pdfs.py" --out "$C" --count 20 --seed 1 \
    --variants >/dev/null
"$PY" - "$C" >"$T/cases.txt" <<'EOF'
import json, os, sys
out = sys.argv[1]
for name in sorted(os.listdir(os.path.join(out, "expected"))):
    d = json.load(open(os.path.join(out, "expected", name), encoding="utf-8"))
    obs = d.get("observed_pymupdf", {})
    stem = name[:-5]
    text = d.get("page1_text_pymupdf")
    good = obs.get("opens") and not obs.get("needs_pass") and \
        d["pdf"].get("valid") and text is not None
    if good:
        with open(os.path.join(out, stem + ".txt"), "wb") as f:
            f.write(text.encode("utf-8"))
    print(stem, d["variant"], "good" if good else "skip")
EOF
ngood=0
while read -r stem variant kind; do
    pdf=$C/$stem.pdf
    case $variant in
    encrypted) want="error encrypted" ;;
    not_a_pdf) want="error not_pdf" ;;
    zero_bytes) want="error empty" ;;
    *) want="" ;;
    esac
    if [ -n "$want" ]; then
        got=$("$PROBE" info "$pdf" 2>/dev/null || true)
        [ "$got" = "$want" ] && ok || bad "$stem: '$got', want '$want'"
        continue
    fi
    if [ "$kind" = good ]; then
        same_text "$pdf" "$C/$stem.txt" "$stem"
        ngood=$((ngood + 1))
    fi
done <"$T/cases.txt"
[ "$ngood" -ge 24 ] || bad "only $ngood good PDFs in the generated corpus"

# The truncated file is repaired and reads as PyMuPDF reads it.
got=$("$PROBE" info "$C/hard_truncated.pdf" 2>/dev/null | tr '\n' ' ')
[ "$got" = "pages 2 repaired 1 " ] && ok || bad "hard_truncated info: $got"
"$PY" "$T/fitz_text.py" "$C/hard_truncated.pdf" 1 >"$T/want.txt"
same_text "$C/hard_truncated.pdf" "$T/want.txt" hard_truncated

# --- 2. rotation, annotations, ligatures ------------------------------
V=$T/var
mkdir -p "$V"
# A TrueType font with ligature glyphs (Debian: fonts-dejavu-core).
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
[ -f "$FONT" ] || { echo "missing $FONT (fonts-dejavu-core)"; exit 1; }
"$PY" - "$C/ecg_000001.pdf" "$V" "$FONT" <<'EOF'
import sys
import fitz
src, out = sys.argv[1], sys.argv[2]
for rot in (90, 180, 270):
    d = fitz.open(src)
    d[0].set_rotation(rot)
    d.save(f"{out}/rot{rot}.pdf")
d = fitz.open(src)
d[0].add_freetext_annot(fitz.Rect(400, 500, 700, 560),
                        "Annotated: QTc reviewed", fontsize=12)
d.save(f"{out}/annot.pdf")
d = fitz.open(src)
d[0].insert_font(fontname="dv", fontfile=sys.argv[3])
d[0].insert_text((560, 40), "\ufb01nal \ufb02ow", fontname="dv", fontsize=10)
d.save(f"{out}/ligature.pdf")
d = fitz.open(src)
pages = int(d.xref_get_key(d.pdf_catalog(), "Pages")[1].split()[0])
d.xref_set_key(pages, "Rotate", "270")
d.xref_set_key(d[0].xref, "Rotate", "null")
d.save(f"{out}/inherited.pdf")
EOF
for f in "$V"/*.pdf; do
    "$PY" "$T/fitz_text.py" "$f" 1 >"$T/want.txt"
    same_text "$f" "$T/want.txt" "$(basename "$f")"
done
# The annotation's text counts, and ligatures stay ligatures.
"$PROBE" text "$V/annot.pdf" 1 >"$T/got.txt"
grep -q "Annotated: QTc reviewed" "$T/got.txt" && ok || bad "annotation text"
"$PROBE" text "$V/ligature.pdf" 1 >"$T/got.txt"
grep -q $'\xef\xac\x81nal \xef\xac\x82ow' "$T/got.txt" && ok || bad "ligature"
"$PY" -c 'import fitz, sys; d = fitz.open(sys.argv[1]); sys.exit(d[0].rotation != 270)' \
    "$V/inherited.pdf" && ok || bad "inherited rotation not set up"

# --- 3. real-world hard corpus ----------------------------------------
nread=0
for f in "$SHARED"/corpus/hard/*.pdf; do
    name=$(basename "$f")
    # PyMuPDF itself needs minutes on the decompression bomb (see its
    # MANIFEST note); pdf_hard.sh covers it.
    [ "$name" = pdfjs_bomb_giant.pdf ] && continue
    set +e
    timeout 60 "$PY" "$T/fitz_text.py" "$f" 1 >"$T/want.txt" 2>/dev/null
    prc=$?
    "$PROBE" --timeout-ms 20000 text "$f" 1 >"$T/got.txt" 2>/dev/null
    crc=$?
    set -e
    if [ $prc -eq 0 ]; then
        nread=$((nread + 1))
        if [ $crc -eq 0 ] && cmp -s "$T/got.txt" "$T/want.txt"; then
            ok
        else
            bad "$name: text differs from PyMuPDF (exit $crc)"
        fi
    elif [ $prc -eq 3 ]; then
        [ $crc -eq 1 ] && ok || bad "$name: PyMuPDF cannot read it, we exit $crc"
    fi
done
[ "$nread" -ge 40 ] || bad "only $nread hard PDFs readable by PyMuPDF"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
