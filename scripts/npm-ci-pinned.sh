#!/usr/bin/env bash
# Installs one of the repo's pinned Node packages with `npm ci`:
#   npm-ci-pinned.sh <name> <dir under tests/> <package that must exist afterwards>...
# Used by install-test-server.sh (tests/server) and install-test-gateway.sh (tests/gateway).
#
# Idempotent: skips the install when <dir>/node_modules was installed from the current
# lockfile (a stamp file inside node_modules records the lockfile's SHA-256). Works from any
# working directory. Set FORCE=1 to reinstall anyway.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
name="$1"
dir_name="$2"
shift 2
server_dir="$(cd -- "${script_dir}/../tests/${dir_name}" && pwd)"
lockfile="${server_dir}/package-lock.json"
modules="${server_dir}/node_modules"
stamp="${modules}/.sextant-lock-sha256"

die() {
    echo "${name}: error: $*" >&2
    exit 1
}

for tool in node npm; do
    command -v "${tool}" >/dev/null 2>&1 ||
        die "'${tool}' was not found on PATH. The integration tests need Node.js >= 20 with npm" \
            "to run the local Cosmos DB test server; install it (https://nodejs.org/) and retry."
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "${node_major}" =~ ^[0-9]+$ ]] && ((node_major >= 20)) ||
    die "Node.js >= 20 is required by the test server, found $(node --version)."

[[ -f "${lockfile}" ]] || die "missing ${lockfile}; it must be committed with tests/${dir_name}/package.json."

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
    # Refresh the stamp's mtime: the Rust launchers (tests/local/src/server.rs, gateway.rs) only run
    # the install script when the lockfile is newer than the stamp.
    touch "${stamp}"
    echo "${name}: ${modules} is up to date with package-lock.json; skipping."
    exit 0
fi

echo "${name}: installing tests/${dir_name} into ${modules} (npm ci)..."
npm ci --prefix "${server_dir}" --no-audit --no-fund ||
    die "'npm ci' failed in ${server_dir} (see npm's output above). Check network access to the" \
        "npm registry, or that package-lock.json matches package.json."

for package in "$@"; do
    [[ -f "${modules}/${package}/package.json" ]] ||
        die "'npm ci' succeeded but ${modules}/${package} is missing."
done

printf '%s\n' "${want}" >"${stamp}"
echo "${name}: done."
