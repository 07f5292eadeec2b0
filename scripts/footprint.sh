#!/usr/bin/env bash
# Distinct 64-byte cache lines one point-read cycle of the core touches, code and data, by
# region and by the function that touched each line first: the footprint that an operation
# pays for in cache misses when it starts with cold caches (docs/PERFORMANCE.md, "Issue 9:
# native cost is memory, not instructions", and "Issue 9: the sixteenth session").
#
#   scripts/footprint.sh [N]     # N cycles of `core_cycle N routed` (default 40)
#
# Runs `core_cycle` (tests/e2e/src/bin/core_cycle.rs) under valgrind's lackey tool, which
# traces every instruction and data access, and splits the trace at each entry into
# `core_cycle::point_read` (one cycle each). The first 10 cycles (warm-up: the metadata reads
# and the caches' first fill) and the last are left out; the others are averaged. Data lines
# are classed by address: `stack` (valgrind places the client's stack above 64 GiB on
# amd64), the executable's read-only data (`rodata`: constants, tables), its writable data
# (`data`: statics and, in a position-independent executable, vtables), and `heap` (everything
# else: the allocator's arenas and the shared libraries' data).
#
# Deterministic (no timing): a change to the per-op path shows up as lines added or removed.
# About a minute for N=40. Output: target/footprint/summary.txt and by-function.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-40}
(( N > 12 )) || { echo "footprint.sh: N must be above 12 (10 warm-up cycles are left out)" >&2; exit 2; }
OUT=target/footprint
mkdir -p "$OUT"
cargo build --quiet --profile bench -p sextant-e2e-bench --bin core_cycle
BIN=${CARGO_TARGET_DIR:-target}/release/core_cycle
valgrind --tool=lackey --trace-mem=yes --log-file="$OUT/trace.txt" "$BIN" "$N" routed >/dev/null
nm -C --defined-only "$BIN" >"$OUT/symbols.txt"
readelf -lW "$BIN" >"$OUT/segments.txt"
python3 - "$OUT" "$N" <<'PY'
import bisect, collections, re, sys
out, n = sys.argv[1], int(sys.argv[2])
syms, entry_off = [], None
for line in open(f"{out}/symbols.txt"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3 and parts[1] in "tTwW":
        syms.append((int(parts[0], 16), parts[2]))
        if parts[2] == "core_cycle::point_read":
            entry_off = int(parts[0], 16)
if entry_off is None:
    sys.exit("footprint.sh: no symbol core_cycle::point_read in the binary")
syms.sort()
sym_addrs = [a for a, _ in syms]
# LOAD segments (offsets in the file's address space): flags R = rodata-like, RW = data.
segments = []
for line in open(f"{out}/segments.txt"):
    m = re.match(r"\s*LOAD\s+\S+\s+(0x[0-9a-f]+)\s+\S+\s+\S+\s+(0x[0-9a-f]+)\s+(.+?)\s+0x", line)
    if m:
        segments.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3).replace(" ", "")))
# The executable's load address: the one at which point_read's entry runs once per cycle
# (N measured plus the warm-up cycle `core_cycle` runs first).
entries = collections.Counter()
trace = open(f"{out}/trace.txt", errors="replace").read().splitlines()
low = entry_off & 0xFFF
for line in trace:
    if line.startswith("I  "):
        a = int(line[3:].split(",")[0], 16)
        if a & 0xFFF == low:
            entries[a] += 1
cands = [a for a, c in entries.items() if n <= c <= n + 2 and (a - entry_off) & 0xFFF == 0]
if len(cands) != 1:
    sys.exit(f"footprint.sh: cannot tell point_read's entry in the trace ({len(cands)} candidates)")
entry = cands[0]
base = entry - entry_off

def region(addr):
    if addr >= 1 << 36:
        return "stack"
    off = addr - base
    for start, size, flags in segments:
        if start <= off < start + size:
            if "E" in flags:
                return "text"
            return "data" if "W" in flags else "rodata"
    return "heap"

def function(addr):
    off = addr - base
    i = bisect.bisect_right(sym_addrs, off) - 1
    if 0 <= i and region(addr) == "text":
        return syms[i][1]
    return "(shared library: libc, ld.so)"

cycles, cur, last_i = [], None, 0
for line in trace:
    kind = line[:2].strip()
    if kind not in ("I", "L", "S", "M"):
        continue
    addr_s, _, size_s = line[3:].partition(",")
    try:
        addr, size = int(addr_s, 16), int(size_s)
    except ValueError:
        continue
    if kind == "I":
        last_i = addr
        if addr == entry:
            cur = ({}, set())
            cycles.append(cur)
        if cur is not None:
            cur[1].add(addr >> 6)
    elif cur is not None:
        for l in range(addr >> 6, ((addr + size - 1) >> 6) + 1):
            cur[0].setdefault(l, last_i)
cycles = cycles[10:-1]
if not cycles:
    sys.exit("footprint.sh: no complete cycle after the warm-up")
k = len(cycles)
by_region, by_fn = collections.Counter(), collections.Counter()
code = sum(len(c[1]) for c in cycles) / k
for data, _ in cycles:
    for l, toucher in data.items():
        r = region(l << 6)
        by_region[r] += 1
        by_fn[(r, function(toucher))] += 1
data_total = sum(by_region.values()) / k
with open(f"{out}/summary.txt", "w") as f:
    f.write(f"core point-read cycle (routed), {k} cycles averaged: distinct 64-byte lines per cycle\n")
    f.write(f"  code  {code:7.1f}  ({code * 64 / 1024:.0f} KiB)\n")
    f.write(f"  data  {data_total:7.1f}  ({data_total * 64 / 1024:.0f} KiB)\n")
    for r in ("stack", "heap", "rodata", "data", "text"):
        if by_region[r]:
            f.write(f"    {r:6s} {by_region[r] / k:7.1f}\n")
with open(f"{out}/by-function.txt", "w") as f:
    f.write("# data lines per cycle by region and by the function whose instruction touched the\n"
            "# line first in the cycle (after inlining: the function holding the code)\n")
    for (r, fn), v in by_fn.most_common():
        if v / k >= 0.5:
            f.write(f"{v / k:7.1f}  {r:6s}  {fn}\n")
print(open(f"{out}/summary.txt").read(), end="")
print(f"by function: {out}/by-function.txt")
PY
