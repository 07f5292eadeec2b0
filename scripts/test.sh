#!/usr/bin/env bash
# The full test suite (README.md's second command). Installs the pinned local test server, then
# runs every test of every crate: core unit and vector tests, doc tests, the deterministic
# simulator, and each transport against @vercel/cosmosdb-server over HTTP and HTTPS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-server.sh
bash scripts/install-test-gateway.sh
# The test gateway's own self-test (node's test runner prints a summary line).
node --test tests/gateway/test/*.test.js
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
cargo test --workspace --locked "$@"
# Examples that check their own results against the local server (quickstarts run as README's
# first command).
cargo run --locked -q -p sextant-examples --bin soft_delete
cargo run --locked -q -p sextant-examples --bin bulk_import
cargo run --locked -q -p sextant-examples --bin tenant_access
