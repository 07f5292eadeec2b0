#!/usr/bin/env bash
# The full test suite (README.md's second command). Installs the pinned local test server, then
# runs every test of every crate: core unit and vector tests, doc tests, the deterministic
# simulator, and each transport against @vercel/cosmosdb-server over HTTP and HTTPS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-server.sh
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
cargo test --workspace --locked "$@"
