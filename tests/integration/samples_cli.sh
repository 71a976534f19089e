#!/usr/bin/env bash
# `bpecg-etl samples` end to end: files, manifest, determinism, usage errors.
# The PDFs are read back with Debian's PyMuPDF (python3-fitz), a reader
# independent of bpecg-etl's own.
set -euo pipefail

BIN="${BPECG_BUILD_DIR:?set BPECG_BUILD_DIR}/bpecg-etl"
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# --- a corpus with every variant and a manifest ---------------------------
out=$("$BIN" samples --out "$tmp/a/nested" --count 5 --seed 42 --variants \
    --manifest "$tmp/a.jsonl")
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "summary is not one line: $out"
case $out in *"wrote 13 files"*) ok "summary: $out" ;; *) fail "summary: $out" ;; esac

for i in 00000 00001 00002 00003 00004; do
    [ "$(head -c 5 "$tmp/a/nested/ecg_$i.pdf")" = "%PDF-" ] || fail "ecg_$i.pdf is not a PDF"
done
for k in one_page encrypted truncated empty not_pdf raster_only many_pages huge_page; do
    [ -f "$tmp/a/nested/variant_$k.pdf" ] || fail "variant_$k.pdf missing"
done
[ ! -s "$tmp/a/nested/variant_empty.pdf" ] || fail "variant_empty.pdf is not empty"
[ "$(ls -A "$tmp/a/nested" | wc -l)" -eq 13 ] || fail "unexpected files: $(ls -A "$tmp/a/nested")"
ls -A "$tmp/a/nested" "$tmp" | grep -q '\.tmp\.' && fail "temporary files left behind"

"$PY" - "$tmp/a/nested" "$tmp/a.jsonl" <<'EOF' || fails=$((fails + 1))
import json, os, sys
import fitz

d, manifest = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(manifest, encoding="utf-8")]
bad = []
def check(cond, msg):
    if not cond:
        bad.append(msg)

check(len(rows) == 13, f"manifest has {len(rows)} rows")
check(sorted(r["file"] for r in rows) == sorted(os.listdir(d)), "manifest files != directory")
for r in rows:
    path = os.path.join(d, r["file"])
    data = open(path, "rb").read()
    check(r["bytes"] == len(data), f"{r['file']}: bytes {r['bytes']} != {len(data)}")
    kind = r["kind"]
    check(r["file"] == (f"ecg_{r['index']:05d}.pdf" if kind == "good" else f"variant_{kind}.pdf"),
          f"{r['file']}: name does not match kind {kind}")
    if kind in ("empty", "not_pdf"):
        check(r["pages"] is None, f"{kind}: pages should be null")
        try:
            fitz.open(stream=data, filetype="pdf")
            bad.append(f"{kind}: PyMuPDF opened it")
        except Exception:
            pass
        continue
    if kind == "truncated":
        check(len(data) == r["truncated_from"] * 3 // 5, "truncated: not 60%")
        continue
    doc = fitz.open(stream=data, filetype="pdf")
    if kind == "encrypted":
        check(doc.needs_pass, "encrypted: opens without a password")
        check(not doc.authenticate("wrong"), "encrypted: wrong password accepted")
        check(doc.authenticate(r["user_password"]), "encrypted: password rejected")
    check(doc.page_count == r["pages"], f"{r['file']}: {doc.page_count} pages, meta {r['pages']}")
    sizes = [[p.rect.width, p.rect.height] for p in list(doc)[:2]]
    check(sizes == r["page_sizes"], f"{r['file']}: sizes {sizes} != {r['page_sizes']}")
    text = doc[0].get_text()
    for line in [f"Name: {r['name']}", f"Patient ID: {r['patient_id']}",
                 f"DOB: {r['dob']}", f"Sex: {r['sex']}", f"Acquired: {r['acquired']}",
                 f"Device: {r['device']}", f"Vent. rate {r['vent_rate']} BPM",
                 f"PR interval {r['pr']} ms", f"QRS duration {r['qrs']} ms",
                 f"QT/QTc {r['qt']}/{r['qtc']} ms",
                 f"P-R-T axes {r['p_axis']} {r['r_axis']} {r['t_axis']}",
                 *r["interpretation"]]:
        check(line in text.splitlines(), f"{r['file']}: page-1 text lacks {line!r}")
    if doc.page_count >= 2:
        p2 = doc[1]
        paths = p2.get_drawings()
        if kind == "raster_only":
            check(not paths and len(p2.get_images()) == 1, "raster_only: page 2 not a lone image")
        else:
            check(len(paths) >= 13 + 2, f"{r['file']}: {len(paths)} paths on page 2")
check(rows[0]["name"] == "José Müller", f"index 0 name {rows[0]['name']!r}")
for b in bad:
    print("FAIL:", b)
print(f"ok: manifest and {len(rows)} files checked with PyMuPDF {fitz.VersionBind}")
sys.exit(1 if bad else 0)
EOF

# --- determinism: same seed, same bytes; another seed, another corpus -------
"$BIN" samples --out "$tmp/b" --count 5 --seed 42 --variants --manifest "$tmp/b.jsonl" >/dev/null
for f in "$tmp"/a/nested/*; do
    cmp -s "$f" "$tmp/b/$(basename "$f")" || fail "$(basename "$f") differs between runs"
done
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "manifests differ between runs"
"$BIN" samples --out "$tmp/c" --count 1 --seed=43 >/dev/null
cmp -s "$tmp/a/nested/ecg_00000.pdf" "$tmp/c/ecg_00000.pdf" && fail "seed 43 gave seed 42's file"
[ $fails -eq 0 ] && ok "deterministic"

# --- layouts --------------------------------------------------------------
"$BIN" samples --out "$tmp/l" --count 3 --layout mixed --manifest "$tmp/l.jsonl" >/dev/null
layouts=$("$PY" -c 'import json, sys; print(" ".join(json.loads(l)["layout"] for l in open(sys.argv[1])))' "$tmp/l.jsonl") || layouts="(unreadable manifest)"
[ "$layouts" = "3x4 6x2 12x1" ] || fail "mixed layouts: $layouts"

# --- speed: a benchmark corpus of 200 must not take long --------------------
start=$(date +%s%N)
"$BIN" samples --out "$tmp/bench" --count 200 --seed 1 >/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(ls "$tmp/bench" | wc -l)" -eq 200 ] || fail "200-file corpus incomplete"
# Generous for sanitizer builds on a busy machine; ~2 s in a release build.
if [ $ms -lt 60000 ]; then ok "200 PDFs in $ms ms"; else fail "200 PDFs took $ms ms"; fi

# --- usage errors: exit 2, naming the flag, the value and what is accepted --
expect_usage() {
    local want="$1"
    shift
    local err rc=0
    err=$("$BIN" samples "$@" 2>&1 >/dev/null) || rc=$?
    if [ $rc -ne 2 ]; then
        fail "samples $* exited $rc, want 2"
    elif [[ $err != *"$want"* ]]; then
        fail "samples $*: message lacks '$want': $err"
    fi
}
expect_usage "--count: invalid value 'abc' (accepted: an integer 0..100000)" --out "$tmp/u" --count abc
expect_usage "--count: invalid value '100001'" --out "$tmp/u" --count 100001
expect_usage "--count: invalid value '-1'" --out "$tmp/u" --count -1
expect_usage "--seed: invalid value '-5'" --out "$tmp/u" --seed -5
expect_usage "--seed: invalid value '18446744073709551616'" --out "$tmp/u" --seed 18446744073709551616
expect_usage "--layout: invalid value '4x3' (accepted: 3x4, 6x2, 12x1 or mixed)" --out "$tmp/u" --layout 4x3
expect_usage "--out" --count 3
expect_usage "--count: needs a value" --out "$tmp/u" --count
expect_usage "--bogus: unknown option" --out "$tmp/u" --bogus
[ ! -e "$tmp/u" ] || fail "a usage error still created the output directory"

help=$("$BIN" samples --help) || fail "--help exited $?"
[[ $help == *"--variants"* && $help == *"--manifest"* ]] || fail "--help text"

# --- count 0 and an unwritable destination ---------------------------------
out=$("$BIN" samples --out "$tmp/zero" --count 0)
[[ $out == *"wrote 0 files"* ]] || fail "count 0: $out"
touch "$tmp/file"
rc=0
"$BIN" samples --out "$tmp/file/sub" --count 1 >/dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "output under a regular file exited $rc, want 3"

# --- the report with the most statements ------------------------------------
# Seed 7's sample 780 has all seven interpretation statements; six slots
# made `samples` die with SIGSEGV after writing 780 files.
rc=0
"$BIN" samples --out "$tmp/many" --count 781 --seed 7 >/dev/null 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
    fail "samples --count 781 --seed 7 exited $rc"
else
    "$PY" - "$tmp/many/ecg_00780.pdf" <<'EOF2' || fail "sample 780's statements"
import sys
import fitz
doc = fitz.open(sys.argv[1])
text = doc[0].get_text()
for s in ("First degree AV block", "Abnormal ECG"):
    assert s in text, f"{s!r} not on page 1"
EOF2
    ok "samples --count 781 --seed 7: sample 780 has its seven statements"
fi

if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all samples CLI checks passed"
