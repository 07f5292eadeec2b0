#!/usr/bin/env bash
# Installs the multi-partition test gateway (tests/gateway, @vercel/cosmosdb-server and @azure/cosmos pinned in
# tests/gateway/package-lock.json) with `npm ci`.
#
# Idempotent: skips the install when tests/gateway/node_modules was installed from the current
# lockfile (a stamp file inside node_modules records the lockfile's SHA-256). Works from any
# working directory. Set FORCE=1 to reinstall anyway.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
gateway_dir="$(cd -- "${script_dir}/../tests/gateway" && pwd)"
lockfile="${gateway_dir}/package-lock.json"
modules="${gateway_dir}/node_modules"
stamp="${modules}/.sextant-lock-sha256"

die() {
    echo "install-test-gateway.sh: error: $*" >&2
    exit 1
}

for tool in node npm; do
    command -v "${tool}" >/dev/null 2>&1 ||
        die "'${tool}' was not found on PATH. The integration tests need Node.js >= 20 with npm" \
            "to run the local Cosmos DB test server; install it (https://nodejs.org/) and retry."
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "${node_major}" =~ ^[0-9]+$ ]] && ((node_major >= 20)) ||
    die "Node.js >= 20 is required by @vercel/cosmosdb-server, found $(node --version)."

[[ -f "${lockfile}" ]] || die "missing ${lockfile}; it must be committed with tests/gateway/package.json."

hash_file() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        node -e 'process.stdout.write(require("crypto").createHash("sha256")
            .update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"
    fi
}

want="$(hash_file "${lockfile}")"
if [[ "${FORCE:-0}" != "1" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    # Refresh the stamp's mtime: tests/src/gateway.rs (when written) only runs this script when the lockfile is
    # newer than the stamp.
    touch "${stamp}"
    echo "install-test-gateway.sh: ${modules} is up to date with package-lock.json; skipping."
    exit 0
fi

echo "install-test-gateway.sh: installing the test gateway into ${modules} (npm ci)..."
npm ci --prefix "${gateway_dir}" --no-audit --no-fund ||
    die "'npm ci' failed in ${gateway_dir} (see npm's output above). Check network access to the" \
        "npm registry, or that package-lock.json matches package.json."

[[ -f "${modules}/@vercel/cosmosdb-server/package.json" ]] ||
    die "'npm ci' succeeded but ${modules}/@vercel/cosmosdb-server is missing."
[[ -f "${modules}/@azure/cosmos/package.json" ]] ||
    die "'npm ci' succeeded but ${modules}/@azure/cosmos is missing."

printf '%s\n' "${want}" >"${stamp}"
echo "install-test-gateway.sh: done."
