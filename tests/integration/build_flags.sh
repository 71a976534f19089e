#!/usr/bin/env bash
# Warnings are errors for developers and CI (`make`, .ci/run), never in a
# user's build: a plain `cmake -DCMAKE_BUILD_TYPE=Release` must not get
# -Werror, the build `make` made must. The one file -O3 used to warn about
# (-Wformat-truncation) is compiled as a Release build would, with -Werror.
set -uo pipefail
src=${BPECG_SOURCE_DIR:?}
build=${BPECG_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fails=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Configure only: no compiler run beyond CMake's own checks.
if cmake -S "$src" -B "$tmp/plain" -DCMAKE_BUILD_TYPE=Release >"$tmp/cfg.log" 2>&1; then
    if grep -q -- '-Werror' "$tmp/plain/compile_commands.json"; then
        fail "a plain Release configure compiles with -Werror"
    else
        ok "a plain Release configure has no -Werror"
    fi
    grep -q '^ETL_WERROR:BOOL=OFF' "$tmp/plain/CMakeCache.txt" &&
        ok "ETL_WERROR defaults to OFF" || fail "ETL_WERROR does not default to OFF"
else
    fail "plain Release configure failed: $(tail -5 "$tmp/cfg.log")"
fi

# The build under test was made by `make` (or .ci/run) unless it is one a
# developer configured by hand; `make`'s own rule must ask for -Werror.
grep -Eq 'cmake -S \. -B \$\(BUILD\).*-DETL_WERROR=ON' <(tr -d '\\\n' <"$src/Makefile") &&
    ok "the Makefile turns ETL_WERROR on" || fail "the Makefile does not turn ETL_WERROR on"
if grep -q '^ETL_WERROR:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    grep -q -- '-Werror' "$build/compile_commands.json" &&
        ok "the make build compiles with -Werror" || fail "ETL_WERROR=ON but no -Werror"
fi

# -O3 (CMake's Release) with the project's warnings, as errors here.
cc=${CC:-cc}
if "$cc" -std=gnu11 -O3 -DNDEBUG -Wall -Wextra -Wvla -Wstrict-prototypes -Wshadow \
    -Wformat=2 -Wno-missing-field-initializers -Werror -D_GNU_SOURCE \
    -DETL_VERSION='"test"' -I"$src/src" -I"$src/tests/unit" \
    -c "$src/tests/unit/test_store_sigv4.c" -o "$tmp/sigv4.o" 2>"$tmp/cc.log"; then
    ok "test_store_sigv4.c has no -O3 warning"
else
    fail "test_store_sigv4.c at -O3: $(grep -m3 warning "$tmp/cc.log")"
fi

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
