#!/usr/bin/env bash
# Packages every publishable crate (sextant-core, -host, -tokio, -blocking, -async-std, -entra,
# and the `sextant` command, sextant-cli)
# as `cargo publish` would, and builds each package on its own from the packaged sources
# (`cargo package` with all seven verifies them together, resolving the workspace's own crates
# from the packages just made). Nothing is uploaded. A missing file, an undeclared feature or a
# dependency that only works inside the workspace fails here.
#
# `cargo semver-checks` is not run: nothing is on crates.io yet, so there is no baseline
# (CHANGELOG.md); it belongs here from the release after 0.1.0.
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(sextant-core sextant-host sextant-entra sextant-tokio sextant-blocking sextant-async-std sextant-cli)
# Cargo verifies against a temporary registry and caches the sources it extracts from it by crate
# name and version (under CARGO_HOME), so a second run at the same path would verify against the
# first run's sources. None of these crates come from crates.io: drop those extractions first.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for c in "${crates[@]}"; do
    rm -rf "${cargo_home}"/registry/src/*/"${c}"-[0-9]* "${cargo_home}"/registry/cache/*/"${c}"-[0-9]*.crate
done
args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
# The verification builds the packaged crates as registry crates, which cargo takes to be
# immutable: in a target directory an earlier run used, it reused that run's build of
# sextant-core (same name, version and source) and sextant-host failed to compile against the
# old API. Drop every build of the seven crates first (the workspace's own are rebuilt on next
# use; a fresh clone, as in CI, has none).
cargo clean --quiet "${args[@]}"
cargo package --locked "${args[@]}"
ls -1 "${CARGO_TARGET_DIR:-target}"/package/*.crate
