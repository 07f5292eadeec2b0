#!/usr/bin/env bash
# Runs the cargo-fuzz targets of sextant-core, each for a chosen time, on the nightly toolchain
# (or, where none is installed, on the stable one with RUSTC_BOOTSTRAP=1: see below).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  time per target (default 60; run 600 per target before a release)
#   TARGET   any of the targets below (default: all of them, one after another)
#
#   response_headers account_properties session_token pk_ranges partition_key environment
#   execution recording query_plan query_page feed_token change_feed_token container_properties
#   throughput_flow
#
# Environment:
#   FUZZ_ARGS       extra libFuzzer flags, e.g. FUZZ_ARGS="-jobs=2 -workers=2"
#   FUZZ_SANITIZER  address (cargo-fuzz's default) or none (about twice as fast; the core
#                   forbids unsafe code, so ASan only watches the dependencies)
#
# Targets are built optimized with debug assertions and overflow checks on (cargo-fuzz's
# default without -O), so arithmetic overflow in the core is a crash too.
#
# Needs `cargo install cargo-fuzz --locked`, and `rustup toolchain install nightly` where the
# registry allows it. Without a nightly toolchain the script builds with the stable one and
# RUSTC_BOOTSTRAP=1, which lets stable rustc take the -Z flags cargo-fuzz passes (a local
# test-only build, never a published one; with FUZZ_SANITIZER=address it also needs the
# sanitizer runtime, which the stable toolchain ships for x86_64 Linux).
# The target bodies live in sextant-fuzz-bodies (tests/fuzz-bodies); `cargo test -p sextant-fuzz-bodies --test
# fuzz_corpus` replays every committed input on stable.
#
# Inputs libFuzzer finds go to fuzz/work/<target>/ (git-ignored); the committed seeds in
# fuzz/corpus/<target>/ are read, never written. A crash or violated invariant stops that
# target and lands in fuzz/artifacts/<target>/. Then, from fuzz/ (without a nightly toolchain,
# `RUSTC_BOOTSTRAP=1 cargo fuzz ...` instead of `cargo +nightly fuzz ...`):
#   cargo +nightly fuzz tmin <target> artifacts/<target>/<file>    # minimize it
#   cp artifacts/<target>/minimized-* corpus/<target>/regression-<what>
#   fix, then cargo test -p sextant-fuzz-bodies --test fuzz_corpus
# To keep some of what fuzzing found, minimize the work corpus and copy a few files in
# (never cmin corpus/: it would drop seeds and regressions):
#   cargo +nightly fuzz cmin <target> work/<target>
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

all=(response_headers account_properties session_token pk_ranges partition_key environment execution recording query_plan query_page feed_token change_feed_token container_properties throughput_flow)
secs=${1:-60}
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
case "$secs" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " == *" $t "* ]]; then
    echo "unknown target $t (known: ${all[*]})" >&2
    exit 2
  fi
done
if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 2
fi

sanitizer=(--sanitizer "${FUZZ_SANITIZER:-address}")
if cargo +nightly --version > /dev/null 2>&1; then
  toolchain=(+nightly)
else
  echo "no nightly toolchain: building with stable rustc and RUSTC_BOOTSTRAP=1" >&2
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
# `${a[@]+"${a[@]}"}`: an empty array under `set -u` in bash before 4.4 too.
cargo ${toolchain[@]+"${toolchain[@]}"} fuzz build "${sanitizer[@]}"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "work/$t"
  echo "=== $t: ${secs}s ==="
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  if ! cargo ${toolchain[@]+"${toolchain[@]}"} fuzz run "${sanitizer[@]}" "$t" "work/$t" "corpus/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      ${FUZZ_ARGS:-}; then
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (see fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzed ${targets[*]} for ${secs}s each: no crash, no violated invariant"
