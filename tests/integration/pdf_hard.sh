#!/usr/bin/env bash
# Hostile and broken real-world PDFs (../shared/corpus/hard, 87 files from
# other PDF libraries' test suites) must each end with a result or a typed
# error: no crash, no hang, memory bounded. pdfjs_bomb_giant.pdf makes
# MuPDF's own mutool run for minutes past 2 GB; here it must stop at the
# time or memory cap.
# ok() always succeeds, so "test && ok || bad" is a plain if-else.
# shellcheck disable=SC2015
set -euo pipefail

BUILD=${BPECG_BUILD_DIR:?set BPECG_BUILD_DIR}
SHARED=${BPECG_SHARED_DIR:?set BPECG_SHARED_DIR}
PROBE=$BUILD/tests/pdf_probe
HARD=$SHARED/corpus/hard
[ -x "$PROBE" ] || { echo "missing $PROBE"; exit 1; }
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (package time)"; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# Sanitizer builds need several times the memory (shadow, quarantine).
RSS_FACTOR=1
if grep -q -a -e __asan_init -e __tsan_init "$PROBE"; then
    RSS_FACTOR=4
fi

# The budget is generous so that no file's outcome depends on how loaded
# the machine is (or on a sanitizer's slowdown): every file but the bomb
# takes well under a second here; the bomb is stopped by the memory cap.
TIMEOUT_MS=10000
CAP=$((256 << 20))
LIMITS=(--timeout-ms "$TIMEOUT_MS" --max-memory "$CAP")

# probe_one FILE [OPTIONS...]: run the pipeline steps on FILE; the result
# line goes to $T/line, peak RSS (KB) to $T/rss. Fails on a crash or hang.
probe_one() {
    local f=$1
    shift
    local rc=0
    timeout 120 /usr/bin/time -f %M -o "$T/rss" "$PROBE" "$@" run "$f" \
        >"$T/line" 2>"$T/err" || rc=$?
    if [ $rc -ne 0 ]; then
        bad "$(basename "$f"): exit $rc ($([ $rc -eq 124 ] && echo hang ||
            echo crash)) $(tail -c 300 "$T/err")"
        return 1
    fi
    return 0
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$T/line"; }

n=0
for f in "$HARD"/*.pdf; do
    name=$(basename "$f")
    n=$((n + 1))
    probe_one "$f" "${LIMITS[@]}" || continue
    open=$(field open)
    ms=$(field ms)
    rss=$(tail -1 "$T/rss")
    if [ -z "$open" ] || [ "$(cut -d' ' -f1 "$T/line")" != "$name" ]; then
        bad "$name: no result line: $(cat "$T/line")"
        continue
    fi
    ok
    # The budget holds (with slack for a slow machine).
    [ "${ms%.*}" -le $((TIMEOUT_MS + 3000)) ] && ok || bad "$name took $ms ms"
    [ "$rss" -le $((600 * 1024 * RSS_FACTOR)) ] && ok || bad "$name peak RSS $rss KB"
    cat "$T/line" >>"$T/all.txt"
done
[ "$n" -eq 87 ] && ok || bad "expected 87 hard PDFs, found $n"

# Typed outcomes for files whose nature is known (MANIFEST.tsv).
expect() { # NAME FIELD VALUE-REGEX
    local got
    got=$(grep "^$1 " "$T/all.txt" | sed -n "s/.* $2=\([^ ]*\).*/\1/p")
    [[ "$got" =~ ^($3)$ ]] && ok || bad "$1: $2=$got, want $3"
}
expect pypdf_encryption-r6-user-password.pdf open encrypted
expect qpdf_encrypted-40-bit-R3.pdf open encrypted
expect pypdf_encryption-r2-empty-password.pdf open ok
expect pypdf_encryption-r2-empty-password.pdf text ok
expect pdfjs_empty_protected.pdf open ok
expect qpdf_bad1.pdf open not_pdf
expect pdfium_parser_rebuildxref_error_notrailer.pdf repaired 1
expect pdfium_parser_rebuildxref_error_notrailer.pdf text ok
expect pdfium_bug_544880.pdf text damaged
expect pdfcpu_WaldenFull.pdf render ok
expect pdfjs_bomb_giant.pdf text 'too_complex|timeout'
# Image decoders (JPEG 2000, JBIG2, CCITT, DCT) work under the caps.
expect pdfjs_bug_jpx.pdf render1 ok
expect pdfjs_jbig2_file_header.pdf render1 ok
expect pikepdf_ccitt-endofline-true.pdf render1 ok
expect pdfjs_large_jpeg_downscale.pdf render1 ok

# Each cap alone stops the bomb: memory (no time budget)...
if probe_one "$HARD/pdfjs_bomb_giant.pdf" --max-memory $CAP; then
    [ "$(field text)" = too_complex ] && ok || bad "bomb, memory cap: $(cat "$T/line")"
    [ "$(tail -1 "$T/rss")" -le $((600 * 1024 * RSS_FACTOR)) ] && ok ||
        bad "bomb, memory cap: peak RSS $(tail -1 "$T/rss") KB"
fi

# ...and the page-count and region-size limits give their own error.
if probe_one "$HARD/pdfcpu_WaldenFull.pdf" --max-pages 100; then
    [ "$(field open)" = too_complex ] && ok || bad "max-pages: $(cat "$T/line")"
fi
if probe_one "$HARD/pdfcpu_WaldenFull.pdf" --max-region-pixels 1000; then
    [ "$(field render)" = too_complex ] && ok || bad "max-region-pixels: $(cat "$T/line")"
fi

# Memory stays flat over many documents in one process, and no document
# leaves state behind: three rounds over the corpus give the same results.
files=()
for f in "$HARD"/*.pdf; do
    [ "$(basename "$f")" = pdfjs_bomb_giant.pdf ] || files+=("$f")
done
rc=0
# No time budget here: a result that depends on the clock would make the
# rounds differ on a busy machine; the memory cap still bounds every file.
timeout 600 /usr/bin/time -f %M -o "$T/rss" "$PROBE" --max-memory "$CAP" run \
    "${files[@]}" "${files[@]}" "${files[@]}" >"$T/rounds.txt" 2>/dev/null || rc=$?
if [ $rc -eq 0 ]; then
    sed 's/ ms=.*//' "$T/rounds.txt" >"$T/rounds.res"
    k=${#files[@]}
    if cmp -s <(sed -n "1,${k}p" "$T/rounds.res") \
        <(sed -n "$((2 * k + 1)),$((3 * k))p" "$T/rounds.res"); then
        ok
    else
        bad "results changed between rounds:" \
            "$(diff <(sed -n "1,${k}p" "$T/rounds.res") \
                <(sed -n "$((2 * k + 1)),$((3 * k))p" "$T/rounds.res") | head -5)"
    fi
    [ "$(tail -1 "$T/rss")" -le $((400 * 1024 * RSS_FACTOR)) ] && ok ||
        bad "three rounds: peak RSS $(tail -1 "$T/rss") KB"
else
    bad "three rounds: exit $rc"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
