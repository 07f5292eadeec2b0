#!/usr/bin/env bash
# The core's warm point-read cycle in criterion, built as this repository builds it and built
# with profile-guided optimization (PGO), run alternately on one pinned CPU
# (docs/PERFORMANCE.md, "Issue 9: the seventeenth session").
#
#   scripts/pgo-core.sh [PAIRS]      # default 4 pairs, ABBA order
#
# The cycle is bound by instruction fetch, not by the instructions it runs: its code (about
# 1,260 64-byte lines, `scripts/icache-core.sh`) does not fit in a 32 KiB L1 instruction
# cache, so every line is fetched again every cycle. PGO lays the code out by the profile
# (hot blocks together, cold ones out of line, inlining by measured heat), which is the
# layout change that source-level hints could not make. It is an application's build
# choice (with `cargo pgo`, say), as LTO is; this script measures what it gives here.
#
# Steps: builds `core/benches/core.rs` three times under target/pgo/ (plain; instrumented
# with `-Cprofile-generate`; optimized with `-Cprofile-use`), trains the instrumented build
# on the benchmark itself (the "warm driver" cycle, 3 s), merges the profile with the
# `llvm-profdata` of rustc's own LLVM (`rustup component add llvm-tools`), then hands the
# plain and the PGO binaries to `scripts/bench-ab.sh`. RUSTFLAGS apply to every crate of the
# build (the core, http, sha2, ...), as they would in an application's PGO build. About
# 8 minutes on 2 cores, most of it building. Env: LLVM_PROFDATA (the tool's path), and
# bench-ab.sh's FILTER, CPU, WARM_UP, MEASURE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PAIRS=${1:-4}
PROFDATA=${LLVM_PROFDATA:-$(find "$(rustc --print sysroot)/lib/rustlib" -name llvm-profdata -type f 2>/dev/null | head -1)}
[[ -n $PROFDATA && -x $PROFDATA ]] || {
  echo "pgo-core.sh: needs the llvm-profdata of rustc's LLVM: rustup component add llvm-tools" >&2
  exit 2
}
OUT=$ROOT/target/pgo
PROF=$OUT/profiles
mkdir -p "$OUT"

# Builds the core's bench binary into target/pgo/$1 with RUSTFLAGS=$2; prints its path.
bench_binary() {
  local built
  built=$(RUSTFLAGS=$2 "$ROOT/scripts/core-bench-binary.sh" "$ROOT" "$OUT/$1") ||
    { echo "pgo-core.sh: building the $1 benchmark failed" >&2; exit 1; }
  cp "$built" "$OUT/core-bench-$1"
  echo "$OUT/core-bench-$1"
}

PLAIN=$(bench_binary plain "")
GEN=$(bench_binary gen "-Cprofile-generate=$PROF")
# Build scripts of the instrumented build wrote their own profiles; train on a clean slate.
rm -rf "$PROF"
mkdir -p "$PROF"
LLVM_PROFILE_FILE="$PROF/core-%p-%m.profraw" "$GEN" --bench "warm driver" --warm-up-time 1 \
  --measurement-time 2 --noplot >/dev/null 2>&1
"$PROFDATA" merge -o "$OUT/core.profdata" "$PROF"/*.profraw
PGO=$(bench_binary use "-Cprofile-use=$OUT/core.profdata")
echo "plain = $PLAIN, PGO = $PGO (profile: $OUT/core.profdata)"
exec "$ROOT/scripts/bench-ab.sh" "bin:$PLAIN" "bin:$PGO" "$PAIRS"
