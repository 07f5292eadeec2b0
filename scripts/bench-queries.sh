#!/usr/bin/env bash
# Query benchmarks (issue 11; docs/PERFORMANCE.md "Queries"). Everything runs on 127.0.0.1 and
# needs Node (the test server and gateway) like the test suite.
#   scripts/bench-queries.sh [RUNS]      cross-partition latency, 1 range vs 8 (default 30 runs)
#   scripts/bench-queries.sh --callgrind client instructions per returned item of a
#                                        single-partition query, sextant-tokio and
#                                        sextant-blocking (needs valgrind, ~4 min)
#   scripts/bench-queries.sh --official  the same for the official SDK (azure_data_cosmos
#                                        1.1.0-beta.1, built in tests/official-query outside
#                                        the workspace; downloads it from crates.io)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-server.sh
bash scripts/install-test-gateway.sh
export RUST_BACKTRACE=0
# Instructions per query and per item: callgrind at N=10 and N=110 queries of 100 items.
measure() { # name binary
  local out=target/callgrind name=$1 bin=$2
  mkdir -p "$out"
  for n in 10 110; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$name.$n.out" "$bin" "$n" \
      >"$out/$name.$n.log" 2>&1 \
      || { echo "callgrind run $name N=$n failed; see $out/$name.$n.log" >&2; exit 1; }
  done
  local a b
  a=$(grep -h '^summary:' "$out/$name.10.out" | awk '{print $2}')
  b=$(grep -h '^summary:' "$out/$name.110.out" | awk '{print $2}')
  echo "$name: single-partition query, 100 items per query: Ir(10)=$a Ir(110)=$b"
  echo "  => $(( (b - a) / 100 )) instructions per query, $(( (b - a) / 10000 )) per returned item"
}
if [ "${1:-}" = "--callgrind" ]; then
  cargo build --quiet --release -p sextant-e2e-bench --bin query_instructions \
    --bin query_instructions_blocking
  measure query target/release/query_instructions
  measure query-blocking target/release/query_instructions_blocking
  exit 0
fi
if [ "${1:-}" = "--official" ]; then
  CARGO_TARGET_DIR=tests/official-query/target \
    cargo build --quiet --release --locked --manifest-path tests/official-query/Cargo.toml
  # The local server speaks HTTP/1.1 only (LOCAL_SERVER.md); the SDK would try HTTP/2 first.
  AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED=false \
    measure official-query tests/official-query/target/release/official-query-bench
  exit 0
fi
cargo build --quiet --release -p sextant-e2e-bench --bin query_latency
exec target/release/query_latency "${1:-30}"
