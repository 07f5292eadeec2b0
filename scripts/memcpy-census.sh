#!/usr/bin/env bash
# Bytes the core's point-read cycle copies through `memcpy`/`memmove`, per call site.
#
#   scripts/memcpy-census.sh [routed|unrouted]
#
# Callgrind counts a large `memcpy` as a few instructions (`rep movsb` is one), so the moves of
# large values (an `Execution`, a `Prepared`, the options) barely show in instruction counts,
# while natively `memmove` is about 8 % of the cycle (perf, issue 9's thirteenth speed session in
# docs/PERFORMANCE.md). This interposes both functions with a small `LD_PRELOAD` shim (built
# here with the machine's C compiler) that adds up calls and bytes by return address, runs
# `core_cycle` (tests/e2e/src/bin/core_cycle.rs) for N1 and N2 cycles, and prints per cycle the
# difference divided by N2 - N1 (start-up and warm-up cancel out), largest first, with the
# calling function from `addr2line` (the caller after inlining: a move written in one function
# may show under the function it was inlined into).
#
# Env: N1 (default 1000), N2 (default 11000), TOP (default 30 rows).
# Output: one line per call site: bytes per cycle, calls per cycle, address, function; then the
# totals. Needs gcc and addr2line (binutils).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-routed}
N1=${N1:-1000}
N2=${N2:-11000}
TOP=${TOP:-30}
OUT=${CARGO_TARGET_DIR:-target}/memcpy-census
mkdir -p "$OUT"

cargo build --quiet --profile bench -p sextant-e2e-bench --bin core_cycle
BIN=${CARGO_TARGET_DIR:-target}/release/core_cycle

cat > "$OUT/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define SLOTS 4096
static uintptr_t site[SLOTS];
static unsigned long calls[SLOTS], bytes[SLOTS];
static int on;
static void count(void *ra, size_t n) {
  if (!on) return;
  uintptr_t a = (uintptr_t)ra;
  for (unsigned i = 0, h = (unsigned)(a * 2654435761u) % SLOTS; i < SLOTS; i++) {
    unsigned k = (h + i) % SLOTS;
    if (site[k] == a || site[k] == 0) { site[k] = a; calls[k]++; bytes[k] += n; return; }
  }
}
static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);
void *memcpy(void *d, const void *s, size_t n) {
  if (!real_memcpy) real_memcpy = dlsym(RTLD_NEXT, "memcpy");
  count(__builtin_return_address(0), n);
  return real_memcpy(d, s, n);
}
void *memmove(void *d, const void *s, size_t n) {
  if (!real_memmove) real_memmove = dlsym(RTLD_NEXT, "memmove");
  count(__builtin_return_address(0), n);
  return real_memmove(d, s, n);
}
__attribute__((constructor)) static void start(void) { on = 1; }
__attribute__((destructor)) static void report(void) {
  on = 0;
  const char *path = getenv("CENSUS_OUT");
  FILE *f = fopen(path ? path : "/dev/stderr", "w");
  if (!f) return;
  for (unsigned i = 0; i < SLOTS; i++) {
    if (!site[i]) continue;
    Dl_info info;
    uintptr_t off = site[i];
    const char *obj = "?";
    if (dladdr((void *)site[i], &info) && info.dli_fbase) {
      off = site[i] - (uintptr_t)info.dli_fbase;
      obj = info.dli_fname ? info.dli_fname : "?";
    }
    fprintf(f, "%lu %lu 0x%lx %s\n", calls[i], bytes[i], (unsigned long)off, obj);
  }
  fclose(f);
}
C
gcc -O2 -shared -fPIC -o "$OUT/shim.so" "$OUT/shim.c" -ldl

for n in "$N1" "$N2"; do
  CENSUS_OUT="$OUT/$MODE.$n.txt" LD_PRELOAD="$OUT/shim.so" "$BIN" "$n" "$MODE" >/dev/null
done

python3 - "$OUT/$MODE.$N1.txt" "$OUT/$MODE.$N2.txt" "$N1" "$N2" "$BIN" "$TOP" <<'PY'
import subprocess, sys
f1, f2, n1, n2, binary, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
def load(path):
    rows = {}
    for line in open(path):
        c, b, addr, obj = line.split(maxsplit=3)
        rows[(addr, obj.strip())] = (int(c), int(b))
    return rows
a, b = load(f1), load(f2)
rows = []
for key, (c2, b2) in b.items():
    c1, b1 = a.get(key, (0, 0))
    calls, nbytes = (c2 - c1) / (n2 - n1), (b2 - b1) / (n2 - n1)
    if calls >= 0.05:
        rows.append((nbytes, calls, key))
rows.sort(reverse=True)
print(f"memcpy/memmove per point-read cycle ({n1} and {n2} cycles):")
for nbytes, calls, (addr, obj) in rows[:top]:
    where = obj.rsplit('/', 1)[-1]
    if obj.endswith(binary.rsplit('/', 1)[-1]):
        out = subprocess.run(['addr2line', '-f', '-C', '-e', binary, addr], capture_output=True, text=True).stdout
        where = out.split('\n')[0][:110]
    print(f"  {nbytes:7.0f} B {calls:5.2f} calls  {addr:>9}  {where}")
print(f"  total {sum(r[0] for r in rows):.0f} bytes in {sum(r[1] for r in rows):.1f} calls per cycle")
PY
