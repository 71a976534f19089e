#!/usr/bin/env bash
# README.md's configuration table is the binary's own settings table.
set -euo pipefail
src=${BPECG_SOURCE_DIR:?}
want=$("$BPECG_BUILD_DIR/bpecg-etl" settings --markdown)
got=$(awk '/<!-- settings:end -->/{p=0} p; /<!-- settings:begin -->/{p=1}' "$src/README.md")
if [ "$want" != "$got" ]; then
    echo "README.md's settings table is stale: run scripts/update-readme" >&2
    diff <(echo "$want") <(echo "$got") >&2 || true
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
