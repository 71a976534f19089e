#!/usr/bin/env bash
# JPEG crops: page mode must reproduce the Python original's files byte for
# byte; clip mode must stay within a few levels of them.
#
# Our page-mode crops are written in the layout seed_pipeline.py uses
# (images/<stem>/crop_<i>.jpg) and checked two independent ways:
#   - oracle_crops.py (mutool draw + cjpeg -quality 85) must pass on them;
#   - seed_pipeline.py (PyMuPDF + Pillow, the original's code path) must
#     have written the very same bytes.
# Clip mode renders each box alone; DESIGN.md allows differences of at most
# 6 levels on a tiny share of bytes.
# ok() always succeeds, so "test && ok || bad" is a plain if-else.
# shellcheck disable=SC2015
set -euo pipefail

BUILD=${BPECG_BUILD_DIR:?set BPECG_BUILD_DIR}
SHARED=${BPECG_SHARED_DIR:?set BPECG_SHARED_DIR}
PROBE=$BUILD/tests/pdf_probe
PY=/usr/bin/python3
[ -x "$PROBE" ] || { echo "missing $PROBE"; exit 1; }
for tool in mutool cjpeg; do
    command -v $tool >/dev/null || { echo "missing $tool"; exit 1; }
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

DPI=100
Q=85
# The seed's default region, a wide strip and one far from the origin.
CROPS='[[100,100,300,300],[0,0,1100,250],[500,300,740,520]]'

C=$T/pdfs
"$PY" "$SHARED/bench/gen_ecg_pdfs.py" --out "$C" --count 5 --seed 3 \
    --variants raster_page2,truncated >/dev/null
rm -rf "$C/expected" "$C/manifest.json"

OUT=$T/ours
n=0
for pdf in "$C"/*.pdf; do
    stem=$(basename "$pdf" .pdf)
    mkdir -p "$OUT/images/$stem"
    i=0
    for box in $("$PY" -c 'import json, sys
for b in json.loads(sys.argv[1]): print(",".join(map(str, b)))' "$CROPS"); do
        IFS=, read -r x0 y0 x1 y1 <<<"$box"
        "$PROBE" crop "$pdf" 2 $DPI "$x0" "$y0" "$x1" "$y1" page $Q \
            "$OUT/images/$stem/crop_$i.jpg"
        i=$((i + 1))
    done
    n=$((n + 1))
done
[ "$n" -eq 7 ] && ok || bad "expected 7 PDFs, got $n"

# 1. The byte-exact oracle accepts our files as the original's.
if "$PY" "$SHARED/bench/oracle_crops.py" --src "$C" --pipeline-out "$OUT" \
    --n 100 --dpi $DPI --quality $Q --crops "$CROPS" >"$T/oracle.txt" 2>&1; then
    ok
else
    bad "oracle_crops.py: $(tail -5 "$T/oracle.txt" | tr '\n' '|')"
fi
grep -q "^21 passed, 0 failed" "$T/oracle.txt" && ok ||
    bad "oracle ran $(tail -1 "$T/oracle.txt")"

# 2. The original pipeline writes the same bytes.
"$PY" "$SHARED/bench/seed_pipeline.py" --src "$C" --out "$T/seed" \
    --concurrency 2 --dpi $DPI --quality $Q --crops "$CROPS" >/dev/null 2>&1
nseed=0
for f in "$T"/seed/images/*/crop_*.jpg; do
    rel=${f#"$T"/seed/}
    if cmp -s "$f" "$OUT/$rel"; then ok; else bad "$rel differs from the seed's"; fi
    nseed=$((nseed + 1))
done
[ "$nseed" -eq 21 ] && ok || bad "seed wrote $nseed crops, expected 21"

# 3. Clip mode: close to the page-mode pixels (also at 300 dpi).
total=0
total_differ=0
for pdf in "$C"/*.pdf; do
    for case in "$DPI 100 100 300 300" "$DPI 0 0 1100 250" \
        "$DPI 500 300 740 520" "300 300 300 900 900"; do
        # shellcheck disable=SC2086
        line=$("$PROBE" diff "$pdf" 2 $case)
        read -r _ bytes _ differ _ max <<<"$line"
        # At most 6 levels, on at most 0.05% of the bytes.
        if [ "$max" -le 6 ] && [ $((differ * 2000)) -le "$bytes" ]; then
            ok
        else
            bad "$(basename "$pdf") [$case] clip vs page: $line"
        fi
        total=$((total + bytes))
        total_differ=$((total_differ + differ))
    done
    # The clip-mode JPEG of the default region has the region's size.
    "$PROBE" crop "$pdf" 2 $DPI 100 100 300 300 clip $Q "$T/clip.jpg"
    "$PY" -c 'import sys
from PIL import Image
im = Image.open(sys.argv[1])
sys.exit(not (im.size == (200, 200) and im.mode == "RGB" and im.format == "JPEG"))' \
        "$T/clip.jpg" && ok || bad "$(basename "$pdf"): clip JPEG not 200x200 RGB"
done

echo "clip vs page: $total_differ of $total bytes differ"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
