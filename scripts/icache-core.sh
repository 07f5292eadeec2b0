#!/usr/bin/env bash
# Instruction-cache misses of one warm point-read cycle of the core, simulated: the measure of
# whether the cycle's code fits in the L1 instruction cache, which decides its native time more
# than its instruction count does (docs/PERFORMANCE.md, "Issue 9: the seventeenth session").
#
#   scripts/icache-core.sh [BIN]     # default: builds `core_cycle` (bench profile)
#
# Runs `core_cycle N1 routed` and `core_cycle N2 routed` under valgrind's cachegrind with a
# simulated cache of this machine class's per-core sizes (L1i and L1d 32 KiB, 8-way, 64-byte
# lines; last level 2 MiB) and divides the differences by N2 - N1, so the start-up and the
# warm-up cycle cancel out. Prints per cycle: instructions, L1i misses, L1d misses, and the
# functions and source files (inlined code counted where it was written) with the most L1i
# misses. The simulation has no prefetcher and no op cache, so the misses are an upper bound on
# the lines fetched from L2, not a time; what matters is how they move between two builds.
# Deterministic for a given binary (an empty environment, fixed arguments). About a minute.
# Env: N1 (default 500), N2 (default 3500). Needs the binary's line tables for the file
# table (the bench profile has them).
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${N1:-500} N2=${N2:-3500}
if [[ $# -ge 1 ]]; then
  BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  cargo build --quiet --profile bench -p sextant-e2e-bench --bin core_cycle
  BIN=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/core_cycle
fi
OUT=target/icache
mkdir -p "$OUT"
for n in "$N1" "$N2"; do
  env -i "$(command -v valgrind)" --tool=cachegrind --cache-sim=yes \
    --I1=32768,8,64 --D1=32768,8,64 --LL=2097152,16,64 \
    --cachegrind-out-file="$OUT/cg.$n.out" "$BIN" "$n" routed >/dev/null 2>"$OUT/cg.$n.log"
done
python3 - "$OUT" "$N1" "$N2" <<'PY'
import collections, sys
out, n1, n2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(path):
    """L1i misses per function and per source file (of the inlined code too, from the line
    tables), and the totals, from a cachegrind out file."""
    events, fl, fn, totals = None, "?", None, None
    per_fn, per_file = collections.Counter(), collections.Counter()
    for line in open(path):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("fl="):
            fl = line[3:].strip()
        elif line.startswith("fn="):
            fn = line[3:].strip()
        elif line.startswith("summary:"):
            totals = dict(zip(events, map(int, line.split()[1:])))
        elif line[:1].isdigit() and fn is not None:
            misses = dict(zip(events, map(int, line.split()[1:]))).get("I1mr", 0)
            per_fn[fn] += misses
            per_file[fl] += misses
    return per_fn, per_file, totals
a_fn, a_file, a = load(f"{out}/cg.{n1}.out")
b_fn, b_file, b = load(f"{out}/cg.{n2}.out")
d = n2 - n1
per = lambda e: (b[e] - a[e]) / d
print(f"per cycle: {per('Ir'):,.0f} instructions, {per('I1mr'):,.1f} L1i misses, "
      f"{per('D1mr') + per('D1mw'):,.1f} L1d misses")
for title, old, new, width in (("function", a_fn, b_fn, 110), ("source file", a_file, b_file, 110)):
    rows = sorted(((new[k] - old[k]) / d, k) for k in new)
    print(f"L1i misses per cycle by {title} (top 25):")
    for v, k in rows[::-1][:25]:
        # Source files by their last three path components (crate, folder, file).
        name = "/".join(k.split("/")[-3:]) if title == "source file" else k
        print(f"  {v:7.1f}  {name[:width]}")
PY
