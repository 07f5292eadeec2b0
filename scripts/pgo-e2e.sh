#!/usr/bin/env bash
# End-to-end client CPU per operation, built as this repository builds it and built with
# profile-guided optimization (PGO), raw clients and Sextant alike, run alternately
# (docs/PERFORMANCE.md, "Issue 9: the eighteenth session").
#
#   scripts/pgo-e2e.sh [PAIRS]       # default 4 pairs, ABBA order
#   scripts/pgo-e2e.sh --compare-only [PAIRS]   # the runs again, with the binaries built last time
#
# `scripts/pgo-core.sh` trains on the core's warm benchmark and measures that benchmark. This
# script trains on the end-to-end workload instead, as an application would train on its own,
# and measures both:
# - the core's warm cycle (`core_cycle 300000 routed`, built in the same build as the harness,
#   so that the profile applies to the core there too), plain and PGO alternately;
# - client CPU per operation at c=1, where each operation waits on the network and starts with
#   colder caches. The raw clients get the same profile: an application built with PGO builds
#   all of its code that way. One harness binary holds every client, so one training run
#   profiles them all.
#
# Steps: builds the harness three times under target/pgo-e2e/ (plain; instrumented with
# `-Cprofile-generate`; optimized with `-Cprofile-use`); trains the instrumented harness on
# reads and creates at c=1 of every client in CLIENTS (2,000 operations each); merges the
# profile with the `llvm-profdata` of rustc's own LLVM (`rustup component add llvm-tools`);
# times `core_cycle` (PAIRS * 2 runs each); then runs the plain and the PGO harness
# alternately, PAIRS times each (ABBA), on WORKLOADS. It prints, per client, the user and the
# system CPU per 10,000 operations of each run (the median of the run's rounds) and their
# PGO/plain ratios (medians over the runs). User time is what the build changes; system time
# is the same syscalls and moves with the machine. The harness pins the server to CPU0 and
# itself to CPU1. About 20 minutes on 2 cores. Needs the test server's npm packages
# (`scripts/install-test-server.sh`).
#
# Env: CLIENTS (default: the identical-wire raw clients and the three transports), WORKLOADS
# (default read1), OPS (default 10000), ROUNDS (default 3), LLVM_PROFDATA (the tool's path),
# LTO (default off; `fat`: every build, plain, instrumented and optimized, with fat LTO and one
# codegen unit, the other build settings docs/PGO.md gives applications; the binaries then go
# to target/pgo-e2e-lto/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
COMPARE_ONLY=0
[[ ${1:-} == --compare-only ]] && { COMPARE_ONLY=1; shift; }
PAIRS=${1:-4}
CLIENTS=${CLIENTS:-raw-wire,tokio,raw-ureq-wire,blocking,raw-hyper-wire,async-std}
WORKLOADS=${WORKLOADS:-read1}
OPS=${OPS:-10000} ROUNDS=${ROUNDS:-3}
export RUST_BACKTRACE=0
PROFDATA=${LLVM_PROFDATA:-$(find "$(rustc --print sysroot)/lib/rustlib" -name llvm-profdata -type f 2>/dev/null | head -1)}
[[ -n $PROFDATA && -x $PROFDATA ]] || {
  echo "pgo-e2e.sh: needs the llvm-profdata of rustc's LLVM: rustup component add llvm-tools" >&2
  exit 2
}
OUT=$ROOT/target/pgo-e2e
LTO=${LTO:-}
case $LTO in
  '') ;;
  fat)
    OUT=$ROOT/target/pgo-e2e-lto
    export CARGO_PROFILE_BENCH_LTO=fat CARGO_PROFILE_BENCH_CODEGEN_UNITS=1
    ;;
  *) echo "pgo-e2e.sh: LTO is unset or fat, not '$LTO'" >&2; exit 2 ;;
esac
PROF=$OUT/profiles
mkdir -p "$OUT"

# Builds the harness and `core_cycle` (in one build: the core is the same artifact in both, so
# the harness's profile applies to `core_cycle` too) into target/pgo-e2e/$1 with RUSTFLAGS=$2;
# prints the harness copy's path.
harness() {
  CARGO_TARGET_DIR=$OUT/$1 RUSTFLAGS=$2 cargo build --quiet --profile bench \
    -p sextant-e2e-bench --bin sextant-e2e-bench --bin core_cycle >&2 ||
    { echo "pgo-e2e.sh: building the $1 harness failed" >&2; exit 1; }
  cp "$OUT/$1/release/sextant-e2e-bench" "$OUT/e2e-$1"
  cp "$OUT/$1/release/core_cycle" "$OUT/core_cycle-$1"
  echo "$OUT/e2e-$1"
}

if ((COMPARE_ONLY)); then
  PLAIN=$OUT/e2e-plain PGO=$OUT/e2e-use
  [[ -x $PLAIN && -x $PGO && -x $OUT/core_cycle-use ]] ||
    { echo "pgo-e2e.sh: nothing built yet; run without --compare-only" >&2; exit 2; }
else
  PLAIN=$(harness plain "")
  GEN=$(harness gen "-Cprofile-generate=$PROF")
  # Build scripts of the instrumented build wrote their own profiles; train on a clean slate.
  rm -rf "$PROF"
  mkdir -p "$PROF"
  echo "pgo-e2e.sh: training on $CLIENTS (read1, create1)" >&2
  LLVM_PROFILE_FILE="$PROF/e2e-%p-%m.profraw" "$GEN" --clients "$CLIENTS" \
    --workloads read1,create1 --ops 2000 --rounds 1 >/dev/null
  "$PROFDATA" merge -o "$OUT/e2e.profdata" "$PROF"/*.profraw
  PGO=$(harness use "-Cprofile-use=$OUT/e2e.profdata")
fi
rm -f "$OUT"/run-*

# The core's warm cycle with the harness's profile: `core_cycle 300000 routed`, plain and PGO
# alternately, PAIRS * 2 runs each, pinned to the harness's CPU (a profile trained on the
# end-to-end workload, not on this loop).
python3 - "$OUT/core_cycle-plain" "$OUT/core_cycle-use" "$((PAIRS * 2))" <<'PY'
import subprocess, sys, time
plain, pgo, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 300_000
ns = {plain: [], pgo: []}
for i in range(runs):
    for exe in ((plain, pgo) if i % 2 == 0 else (pgo, plain)):
        t = time.perf_counter()
        subprocess.run(["taskset", "-c", "1", exe, str(n), "routed"], check=True,
                       stdout=subprocess.DEVNULL)
        ns[exe].append((time.perf_counter() - t) / n * 1e9)
best = {exe: min(v) for exe, v in ns.items()}
print(f"core_cycle, ns per warm cycle (best of {runs} runs; all runs): plain {best[plain]:.0f} "
      f"({', '.join(f'{x:.0f}' for x in ns[plain])}), PGO {best[pgo]:.0f} "
      f"({', '.join(f'{x:.0f}' for x in ns[pgo])}), PGO / plain {best[pgo] / best[plain]:.3f}\n")
PY
echo "plain = $PLAIN, PGO = $PGO (profile: $OUT/e2e.profdata)" >&2

# One run of a harness: its JSON samples go to $OUT/run-<n>-<label>.json.
run() {
  local n=$1 label=$2 bin=$3
  echo "pgo-e2e.sh: run $n ($label)" >&2
  "$bin" --clients "$CLIENTS" --workloads "$WORKLOADS" --ops "$OPS" --rounds "$ROUNDS" \
    --json "$OUT/run-$n-$label.json" >"$OUT/run-$n-$label.md"
}
n=0
for ((p = 0; p < PAIRS; p++)); do
  if ((p % 2 == 0)); then order="plain pgo"; else order="pgo plain"; fi
  for label in $order; do
    n=$((n + 1))
    if [[ $label == plain ]]; then run "$n" plain "$PLAIN"; else run "$n" pgo "$PGO"; fi
  done
done
python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def per_run(path):
    """Per (client, workload): user and system CPU seconds per 10,000 operations, each the
    median of the run's rounds."""
    per = {}
    for s in json.load(open(path)):
        scale = 10_000 / s["ops"]
        row = per.setdefault((s["client"], s["workload"]), ([], []))
        row[0].append(s["cpu_user_s"] * scale)
        row[1].append(s["cpu_sys_s"] * scale)
    return {k: (statistics.median(u), statistics.median(y)) for k, (u, y) in per.items()}
runs = {"plain": [], "pgo": []}
for path in sorted(glob.glob(f"{out}/run-*.json")):
    label = os.path.basename(path).rsplit("-", 1)[1].removesuffix(".json")
    runs[label].append(per_run(path))
keys = sorted({k for r in runs["plain"] + runs["pgo"] for k in r})
fmt = lambda xs: " / ".join(f"{x:.3f}" for x in xs)
print("CPU seconds per 10,000 operations, one value per run (the median of its rounds)\n")
print("| client | workload | user, plain | user, PGO | PGO / plain | system, plain | system, PGO | PGO / plain |")
print("|---|---|---|---|---:|---|---|---:|")
for k in keys:
    cols = []
    for i in (0, 1):
        a = [r[k][i] for r in runs["plain"] if k in r]
        b = [r[k][i] for r in runs["pgo"] if k in r]
        ratio = statistics.median(b) / statistics.median(a) if a and b else float("nan")
        cols += [fmt(a), fmt(b), f"{ratio:.3f}"]
    print(f"| {k[0]} | {k[1]} | " + " | ".join(cols) + " |")
PY
