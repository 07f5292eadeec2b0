#!/usr/bin/env bash
# Builds the core's criterion benchmark (`core/benches/core.rs`, bench profile) of the checkout
# SRC into TARGET_DIR and prints the path of its executable (the last one cargo reports for the
# `core` bench target). RUSTFLAGS in the environment apply. Shared by `scripts/bench-ab.sh`
# and `scripts/pgo-core.sh`.
#
#   scripts/core-bench-binary.sh SRC TARGET_DIR
set -euo pipefail
[[ $# -eq 2 ]] || { sed -n '2,7p' "$0" >&2; exit 2; }
SRC=$1 TARGET=$2
built=$(cd "$SRC" && CARGO_TARGET_DIR=$TARGET cargo bench --quiet -p sextant-core --bench core \
  --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
exe=[m.get("executable") for m in map(json.loads, sys.stdin) if m.get("reason")=="compiler-artifact" and m.get("target",{}).get("name")=="core" and m.get("executable")]
print(exe[-1] if exe else "")')
[[ -n $built ]] || { echo "core-bench-binary.sh: building the benchmark of $SRC failed" >&2; exit 1; }
echo "$built"
