#!/usr/bin/env bash
# Native time of the core's warm point-read cycle, by concern: where the plain build's 2.5 µs
# go on this host (docs/PERFORMANCE.md, "Issue 9: the nineteenth session").
#
#   scripts/perf-concerns.sh [BIN]   # default: builds `core_cycle` (bench profile)
#
# Times `core_cycle 300000 routed` (best of 5 pinned runs: ns per cycle), then samples
# `core_cycle 600000 routed` with `perf record -e cpu-clock` (a software clock: this VM exposes
# no hardware counters) and adds up each function's self time by concern, the first pattern
# below that matches its name. Code inlined into a function counts as that function's, so the
# split is an estimate with that grain: `Prepared::attempt_headers` counts as request headers,
# though it also runs a few lines of the state machine, and `memmove` is its own row (the
# largest moves are the execution's and the prepared request's: `scripts/memcpy-census.sh`).
# The harness's own rows (building the operation and the canned response's header map) are
# part of the cycle criterion times too. Needs `perf` (linux-perf) and Python 3.
#
# Env: RUNS (default 5), FREQ (sampling frequency, default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
FREQ=${FREQ:-5000}
if [[ $# -ge 1 ]]; then
  BIN=$1
else
  cargo build --quiet --profile bench -p sextant-e2e-bench --bin core_cycle
  BIN=${CARGO_TARGET_DIR:-target}/release/core_cycle
fi
command -v perf >/dev/null || { echo "perf-concerns.sh: needs perf (linux-perf)" >&2; exit 2; }
OUT=${CARGO_TARGET_DIR:-target}/perf-concerns
mkdir -p "$OUT"
perf record -q -e cpu-clock -F "$FREQ" -o "$OUT/perf.data" \
  taskset -c 1 "$BIN" 600000 routed >/dev/null 2>"$OUT/record.log"
perf report -i "$OUT/perf.data" --no-children --sort symbol -q --stdio -g none \
  2>/dev/null >"$OUT/self.txt"
python3 - "$BIN" "$RUNS" "$OUT/self.txt" <<'PY'
import collections, re, subprocess, sys, time
binary, runs, report = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = 300_000
best = float("inf")
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(["taskset", "-c", "1", binary, str(n), "routed"], check=True,
                   stdout=subprocess.DEVNULL)
    best = min(best, (time.perf_counter() - t) / n * 1e9)
# First match wins; the order matters (request headers before the state machine, whose
# module `execution::prepared` also holds `attempt_headers`).
concerns = [
    ("signing (HMAC-SHA256, base64, the header value)",
     r"sha2::|hmac::|digest::|block_buffer|master_key"),
    ("harness: the canned response's header map",
     r"core_cycle::|HeaderMap<T>::try_insert2|HeaderMap<T>::try_with_capacity|try_reserve_one"),
    ("harness: building the operation (an application's own work)",
     r"cosmos_operation|resource_id|partition_key::PartitionKey|references::"),
    ("request headers, URL, activity id, date",
     r"attempt_headers|header_templates|header_values|point_headers|shared_pk_value|UriBase|"
     r"PathAndQuery|Uri::from_parts|HeaderValue|ids::ActivityId|date::|Vec<T,A> as core::clone::Clone|"
     r"static_clone|static_drop"),
    ("response headers and session tokens",
     r"ResponseHeaders|dec2flt|f64 as core::str|sextant_core::session"),
    ("diagnostics", r"sextant_core::diagnostics|diagnostics_log_line"),
    ("metrics", r"sextant_core::metrics"),
    ("the execution state machine (start, poll, drain, routing, regions, finish, drops)",
     r"sextant_core::execution|sextant_core::drain|sextant_core::regions|sextant_core::routing|"
     r"sextant_core::policy|sextant_core::shared|sextant_core::leases|InlineList"),
    ("allocator", r"malloc|free|__rdl_|__rust_alloc|__rust_dealloc|_int_|realloc|calloc|tcache"),
    ("memmove, memset, memcmp", r"__mem"),
]
share = collections.Counter()
for line in open(report):
    parts = line.split(None, 2)
    if len(parts) < 3 or not parts[0].endswith("%"):
        continue
    pct, name = float(parts[0].rstrip("%")), parts[2]
    for label, pattern in concerns:
        if re.search(pattern, name):
            share[label] += pct
            break
    else:
        share["the rest (bytes, http, core and std generic code, time)"] += pct
total = sum(share.values())
print(f"core_cycle routed: {best:.0f} ns per warm cycle (best of {runs} runs)")
print(f"self time by concern ({total:.1f} % of the samples named):")
for label, pct in share.most_common():
    print(f"  {pct:5.1f} %  {pct / 100 * best:5.0f} ns  {label}")
PY
