#!/usr/bin/env bash
# End-to-end client CPU per operation: every Sextant transport beside raw reqwest, against the
# local test server over HTTP keep-alive. The harness restarts the server for every block, pins it
# to CPU0 (taskset -c 0) and pins itself to CPU1, and prints a Markdown report on stdout
# (progress on stderr).
#
#   scripts/bench-e2e.sh                 # 10,000 ops x 3 rounds (the numbers in docs/PERFORMANCE.md)
#   scripts/bench-e2e.sh --quick         # 1,000 ops x 1 round (smoke test)
#   scripts/bench-e2e.sh --help          # every option
#
# Needs Node.js and the test server's npm packages (scripts/install-test-server.sh).
# Builds with the `bench` profile (release + line tables; output in target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
cargo build --quiet --profile bench -p sextant-e2e-bench --bin sextant-e2e-bench
exec target/release/sextant-e2e-bench "$@"
