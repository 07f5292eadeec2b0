#!/usr/bin/env bash
# Installs the local Cosmos DB test server (tests/server, @vercel/cosmosdb-server pinned in
# tests/server/package-lock.json) with `npm ci`; idempotent (see npm-ci-pinned.sh). FORCE=1
# reinstalls.
set -euo pipefail
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/npm-ci-pinned.sh" install-test-server.sh server \
    @vercel/cosmosdb-server
