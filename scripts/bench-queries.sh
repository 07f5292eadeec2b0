#!/usr/bin/env bash
# Query benchmarks (issue 11; docs/PERFORMANCE.md "Queries"). Everything runs on 127.0.0.1 and
# needs Node (the test server and gateway) like the test suite.
#   scripts/bench-queries.sh [RUNS]      cross-partition latency, 1 range vs 8 (default 30 runs)
#   scripts/bench-queries.sh --callgrind client instructions per returned item of a
#                                        single-partition query (needs valgrind, ~2 min)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-server.sh
bash scripts/install-test-gateway.sh
export RUST_BACKTRACE=0
if [ "${1:-}" = "--callgrind" ]; then
  cargo build --quiet --release -p sextant-e2e-bench --bin query_instructions
  out=target/callgrind
  mkdir -p "$out"
  ir() { grep -h '^summary:' "$1" | awk '{print $2}'; }
  for n in 10 110; do
    valgrind --tool=callgrind --callgrind-out-file="$out/query.$n.out" \
      target/release/query_instructions "$n" >"$out/query.$n.log" 2>&1 \
      || { echo "callgrind run N=$n failed; see $out/query.$n.log" >&2; exit 1; }
  done
  a=$(ir "$out/query.10.out"); b=$(ir "$out/query.110.out")
  echo "single-partition query, 100 items per query: Ir(10)=$a Ir(110)=$b"
  echo "  => $(( (b - a) / 100 )) instructions per query, $(( (b - a) / 10000 )) per returned item"
  exit 0
fi
cargo build --quiet --release -p sextant-e2e-bench --bin query_latency
exec target/release/query_latency "${1:-30}"
