#!/usr/bin/env bash
# Installs the multi-partition test gateway (tests/gateway; @vercel/cosmosdb-server and
# @azure/cosmos pinned in tests/gateway/package-lock.json) with `npm ci`; idempotent (see
# npm-ci-pinned.sh). FORCE=1 reinstalls. The same install serves the wire-conformance capture
# (tests/gateway/capture: recorder.js needs only Node, js_ops.js the pinned @azure/cosmos).
set -euo pipefail
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/npm-ci-pinned.sh" install-test-gateway.sh gateway \
    @vercel/cosmosdb-server @azure/cosmos
