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
# `core_cycle::point_read` (never inlined; entered once for the warm-up cycle and once per
# measured cycle). The first 10 measured cycles and the last are left out; the others are
# averaged. A cycle is the harness's whole loop body, so it includes building the operation and
# the canned response (as the criterion benchmark does).
#
# Regions of a data line, by the address of its first access in the cycle: `stack` (within
# 8 MiB below the stack pointer at the cycle's entry, read from the `call`'s store of its
# return address), the executable's read-only data (`rodata`: constants, tables), its
# writable data (`data`: statics, the GOT and, in a position-independent executable, the
# vtables), and `other` (the allocator's heap, thread-local storage, the shared libraries'
# data). A first toucher outside the executable is shown as libc (copies, the allocator,
# comparisons: lackey does not name it).
#
# Under valgrind the CPU has no SHA-NI, so SHA-256 runs sha2's portable code: about 160 of the
# cycle's code lines are that code, which natively is replaced by a shorter SHA-NI routine.
# Counts are deterministic for a given binary: the program runs with an empty environment and
# fixed arguments, so its stack starts at the same place in every run, and a change to the
# per-op path shows up as lines added or removed. Under a minute for N=40. Output:
# target/footprint/summary.txt and by-function.txt (the trace itself is deleted).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-40}
[[ $N =~ ^[0-9]+$ ]] && (( N > 12 )) || { echo "footprint.sh: N must be a number above 12 (10 cycles are left out)" >&2; exit 2; }
OUT=target/footprint
mkdir -p "$OUT"
cargo build --quiet --profile bench -p sextant-e2e-bench --bin core_cycle
BIN=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/core_cycle
trap 'rm -f "$OUT/trace.txt"' EXIT
env -i "$(command -v valgrind)" --tool=lackey --trace-mem=yes --log-file="$OUT/trace.txt" \
  "$BIN" "$N" routed >/dev/null
nm -C -S --defined-only "$BIN" >"$OUT/symbols.txt"
readelf -lW "$BIN" >"$OUT/segments.txt"
python3 - "$OUT" "$N" <<'PY'
import bisect, collections, re, sys
out, n = sys.argv[1], int(sys.argv[2])
# Functions of the executable, with their sizes (`nm -S`: address size type name).
syms, entry_off, main_off = [], None, None
for line in open(f"{out}/symbols.txt"):
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) == 4 and parts[2] in ("t", "T", "w", "W"):
        off, size = int(parts[0], 16), int(parts[1], 16)
        syms.append((off, size, parts[3]))
        if parts[3] == "core_cycle::point_read":
            entry_off = off
        elif parts[3] == "core_cycle::main":
            main_off = off
if entry_off is None or main_off is None:
    sys.exit("footprint.sh: no core_cycle::point_read or core_cycle::main in the binary")
syms.sort()
sym_offs = [s[0] for s in syms]
# LOAD segments: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align, where Flg may hold
# spaces ("R E").
segments = []
for line in open(f"{out}/segments.txt"):
    m = re.match(r"\s*LOAD\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+"
                 r"(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x[0-9a-f]+\s*$", line)
    if m:
        segments.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3).replace(" ", "")))
if not any("E" in f for _, _, f in segments):
    sys.exit("footprint.sh: no executable LOAD segment in readelf's output")

def records(path):
    """(kind, address, size) of each trace line: I, L, S or M."""
    for line in open(path, errors="replace"):
        if len(line) < 4 or line[0] not in "I " or line[1] not in "LSM ":
            continue
        kind = line[:2].strip()
        if kind not in ("I", "L", "S", "M"):
            continue
        addr, _, size = line[3:].partition(",")
        try:
            yield kind, int(addr, 16), int(size)
        except ValueError:
            continue

# Pass 1: the executable's load address is the one at which point_read's entry runs exactly
# N + 1 times and main's entry exactly once (one pass counts both pages' candidates).
lows = {entry_off & 0xFFF, main_off & 0xFFF}
hits = collections.Counter()
for kind, addr, _ in records(f"{out}/trace.txt"):
    if kind == "I" and addr & 0xFFF in lows:
        hits[addr] += 1
bases = [a - entry_off for a, c in hits.items()
         if c == n + 1 and (a - entry_off) & 0xFFF == 0
         and hits[a - entry_off + main_off] == 1]
if len(bases) != 1:
    sys.exit(f"footprint.sh: cannot tell the executable's load address ({len(bases)} candidates)")
base = bases[0]
entry = base + entry_off

def segment_of(addr):
    off = addr - base
    for start, size, flags in segments:
        if start <= off < start + size:
            return "text" if "E" in flags else ("data" if "W" in flags else "rodata")
    return None

def function(addr):
    off = addr - base
    i = bisect.bisect_right(sym_offs, off) - 1
    if i >= 0 and segment_of(addr) == "text":
        start, size, name = syms[i]
        if off < start + max(size, 1):
            return name
        return "(executable, no symbol)"
    return "libc (outside the executable)"

# Pass 2: per cycle, the first access to each data line (its address and the instruction's),
# and the code lines run.
cycles, cur, last_i, last_store = [], None, 0, None
for kind, addr, size in records(f"{out}/trace.txt"):
    if kind == "I":
        last_i = addr
        if addr == entry:
            cur = {"data": {}, "code": set(), "sp": last_store}
            cycles.append(cur)
        if cur is not None:
            cur["code"].update(range(addr >> 6, ((addr + size - 1) >> 6) + 1))
        continue
    if kind in ("S", "M"):
        last_store = addr
    if cur is not None:
        for line in range(addr >> 6, ((addr + size - 1) >> 6) + 1):
            cur["data"].setdefault(line, (max(addr, line << 6), last_i))
measured = cycles[11:-1]  # the warm-up cycle and 10 more left out, and the last
if not measured or any(c["sp"] is None for c in measured):
    sys.exit("footprint.sh: no complete cycle after the warm-up, or no stack pointer at an entry")

def region(addr, sp):
    if sp - (8 << 20) <= addr < sp + (1 << 16):
        return "stack"
    return segment_of(addr) or "other"

k = len(measured)
by_region, by_fn = collections.Counter(), collections.Counter()
for c in measured:
    for first, toucher in c["data"].values():
        r = region(first, c["sp"])
        by_region[r] += 1
        by_fn[(r, function(toucher))] += 1
if not by_region["stack"]:
    sys.exit("footprint.sh: no access counted as stack: the stack pointer was not found")
code = sum(len(c["code"]) for c in measured) / k
data = sum(by_region.values()) / k
with open(f"{out}/summary.txt", "w") as f:
    f.write(f"core point-read cycle (routed), {k} cycles averaged: distinct 64-byte lines per cycle\n")
    f.write(f"  code  {code:7.1f}  ({code * 64 / 1024:.0f} KiB)\n")
    f.write(f"  data  {data:7.1f}  ({data * 64 / 1024:.0f} KiB)\n")
    for r in ("stack", "other", "rodata", "data", "text"):
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
