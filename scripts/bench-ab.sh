#!/usr/bin/env bash
# Criterion A/B of the core's benchmarks between two revisions, run alternately on one pinned
# CPU, so that a shared, noisy machine slows both alike and their ratio stays meaningful.
#
#   scripts/bench-ab.sh REV_A REV_B [PAIRS]
#
# REV_A, REV_B: anything `git rev-parse` takes, `.` for this checkout as it is (uncommitted
# changes included), or `bin:PATH` for a bench binary built elsewhere (`scripts/pgo-core.sh`
# compares a plain and a profile-guided build of this checkout that way). Each revision's `core/benches/core.rs` binary is built once (in a temporary
# worktree, `bench` profile) and kept in target/bench-ab/, keyed by commit (`.` is rebuilt every
# time). Then PAIRS (default 5) pairs of runs, in ABBA order (A B, B A, A B, ...) so that a drift
# in the machine's speed during the runs does not favour either side.
#
# Env: FILTER (default "warm driver": the warm point-read cycle; a criterion filter whose last
# match is reported, so it should select one benchmark), CPU (default the last one),
# WARM_UP (default 2) and MEASURE (default 4) seconds per run.
#
# Output: one line per run (criterion's point estimate of the mean time per iteration, in ns),
# then for each revision the best and the median run, and B/A for both. The best run is the
# one least disturbed by neighbours; the ratio is what to report from a noisy machine (with a
# reference revision whose time on a quiet machine is known, the ratio carries that time over;
# docs/PERFORMANCE.md, "Issue 9: the twelfth speed session").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[[ $# -ge 2 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
REV_A=$1 REV_B=$2 PAIRS=${3:-5}
FILTER=${FILTER:-warm driver}
CPU=${CPU:-$(($(nproc) - 1))}
WARM_UP=${WARM_UP:-2} MEASURE=${MEASURE:-4}
OUT=$ROOT/target/bench-ab
mkdir -p "$OUT"

# Builds the bench binary of `$1` (a revision or `.`) and prints its path.
bench_binary() {
  local rev=$1 src sha bin
  if [[ $rev == bin:* ]]; then
    [[ -x ${rev#bin:} ]] || { echo "bench-ab: ${rev#bin:} is not an executable" >&2; exit 1; }
    echo "${rev#bin:}"
    return
  fi
  if [[ $rev == . ]]; then
    src=$ROOT sha=worktree
  else
    sha=$(git rev-parse --short=12 "$rev^{commit}")
    bin=$OUT/core-bench-$sha
    [[ -x $bin ]] && { echo "$bin"; return; }
    src=$OUT/src-$sha
    rm -rf "$src"
    git worktree add --quiet --detach "$src" "$sha" >&2
  fi
  bin=$OUT/core-bench-$sha
  local target=$OUT/target-$sha
  [[ $rev == . ]] && target=${CARGO_TARGET_DIR:-$ROOT/target}
  local built
  built=$("$ROOT/scripts/core-bench-binary.sh" "$src" "$target") ||
    { echo "bench-ab: building $rev failed" >&2; exit 1; }
  cp "$built" "$bin"
  if [[ $rev != . ]]; then
    git worktree remove --force "$src"
    rm -rf "$target"
  fi
  echo "$bin"
}

# One criterion run; prints the point estimate in ns.
run_once() {
  taskset -c "$CPU" "$1" --bench "$FILTER" --warm-up-time "$WARM_UP" \
    --measurement-time "$MEASURE" --noplot 2>&1 |
    python3 -c 'import re,sys
unit={"ps":1e-3,"ns":1,"µs":1e3,"us":1e3,"ms":1e6,"s":1e9}
m=None
for line in sys.stdin:
    m=re.search(r"time:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line) or m
if not m: sys.exit("bench-ab: no criterion time in the output")
print("%.1f" % (float(m.group(1))*unit[m.group(2)]))'
}

BIN_A=$(bench_binary "$REV_A")
BIN_B=$(bench_binary "$REV_B")
echo "A = $REV_A ($BIN_A)"
echo "B = $REV_B ($BIN_B)"
echo "filter \"$FILTER\", CPU $CPU, $PAIRS pairs, ABBA order; mean time per iteration (ns):"
A=() B=()
for ((i = 0; i < PAIRS; i++)); do
  if ((i % 2 == 0)); then order="A B"; else order="B A"; fi
  for side in $order; do
    if [[ $side == A ]]; then t=$(run_once "$BIN_A"); A+=("$t"); else t=$(run_once "$BIN_B"); B+=("$t"); fi
    echo "  pair $((i + 1)) $side $t"
  done
done
python3 - "${A[*]}" "${B[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
for name, v in (("A", a), ("B", b)):
    print(f"{name}: best {min(v):.1f} ns, median {statistics.median(v):.1f} ns")
print(f"B/A: best {min(b)/min(a):.3f}, median {statistics.median(b)/statistics.median(a):.3f}")
PY
