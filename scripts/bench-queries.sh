#!/usr/bin/env bash
# Cross-partition query latency over the multi-partition test gateway, 1 range vs 8 ranges
# (issue 11's benchmark; docs/PERFORMANCE.md "Queries"). Usage: scripts/bench-queries.sh [RUNS]
# Everything runs on 127.0.0.1; needs Node (the gateway) like the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-gateway.sh
export RUST_BACKTRACE=0
cargo build --quiet --release -p sextant-e2e-bench --bin query_latency
exec target/release/query_latency "${1:-30}"
