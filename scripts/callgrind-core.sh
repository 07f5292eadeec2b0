#!/usr/bin/env bash
# Instructions per point read, measured differentially with callgrind (valgrind):
#   instr/op = (Ir(N2 ops) - Ir(N1 ops)) / (N2 - N1)
# which cancels process start-up, setup and warm-up.
#
#   scripts/callgrind-core.sh          # core only: `core_cycle`, one point-read Execution cycle
#                                      # of the core with no I/O (see tests/e2e/src/bin/core_cycle.rs),
#                                      # in two modes: `routed` (metadata cached: one request per
#                                      # cycle; the path core/benches/core.rs times) and `unrouted`
#                                      # (container unroutable: no pk range, whole-container
#                                      # session token)
#   scripts/callgrind-core.sh --e2e    # also end to end against the local server, client process
#                                      # only (the server runs natively, pinned to CPU0): raw reqwest
#                                      # and every Sextant transport, point read c=1 (or create c=1
#                                      # with E2E_WORKLOAD=create1)
#
# Env: N1 (default 1000), N2 (default 11000); E2E_CLIENTS (default "raw raw-ureq raw-hyper
# raw-hyper-smol tokio blocking async-std smol"; also raw-hyper-app, the identical-wire raw
# clients raw-wire, raw-ureq-wire, raw-hyper-wire, raw-ureq-wire-bounded (raw-ureq-wire with
# every request bounded by a timeout, as sextant-blocking's attempts, raw reqwest's and raw
# hyper's requests are), and the application pairs: raw-wire-app,
# raw-ureq-wire-app, raw-hyper-wire-app (identical wire, HMAC re-keyed per request, body
# deserialized) against tokio-app, blocking-app, async-std-app (Sextant, body deserialized));
# E2E_WORKLOAD (default read1; or create1), the
# end-to-end workload. The core cycle and each end-to-end client also report heap allocations per
# op (differential count of `__rdl_alloc` calls) and atomic read-modify-writes per op in the
# program's own code (`lock`-prefixed instructions; each is one instruction to callgrind and
# tens of cycles natively), and distinct 64-byte code lines run per op
# (`instr_stats`: at c=1 the caches are most likely cold at each op's start, so natively an op
# pays per line it touches; docs/PERFORMANCE.md, "Issue 9: native cost is memory, not instructions").
# Note: valgrind hides SHA-NI, so HMAC-SHA256 runs sha2's portable code under callgrind (~10k
# instructions per signature instead of ~1-2k natively); raw reqwest signs too, so the difference
# between clients is unaffected.
#
# Output in target/callgrind/: the callgrind files (*.out; open with callgrind_annotate or
# kcachegrind), their logs, and per-op differential profiles (self cost per function, per op,
# from the N1 and N2 runs): core_cycle-<mode>.perop.txt, e2e-<client>.perop.txt, and
# e2e-<client>.vs-<baseline>.txt (difference to the transport's raw client, per function and per
# crate: raw reqwest for tokio, raw ureq for blocking, raw hyper for async-std and smol; and, when
# the transport's identical-wire raw client was measured in the same run, also
# e2e-<client>.vs-raw-wire.txt, .vs-raw-ureq-wire.txt, .vs-raw-ureq-wire-bounded.txt,
# .vs-raw-hyper-wire.txt). With
# E2E_WORKLOAD other than read1 every end-to-end name carries the workload: e2e-<client>-create1.*,
# e2e-<client>-create1.vs-<baseline>.txt. <name>.atomics.txt: the atomic read-modify-writes
# per op by the function executing them (after inlining: the function whose code holds the
# `lock` instruction); <name>.codelines.txt: the code lines run per op, by function. A summary
# of instructions, allocations, atomics and code lines per op, with each transport's ratios to
# its raw clients, ends the end-to-end part.
# Builds with the `bench` profile (release + line tables).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
N1=${N1:-1000}
N2=${N2:-11000}
E2E=0
[[ "${1:-}" == "--e2e" ]] && E2E=1
E2E_WORKLOAD=${E2E_WORKLOAD:-read1}
case $E2E_WORKLOAD in
  read1) WL_SUFFIX=""; WL_LABEL="read c=1" ;;
  create1) WL_SUFFIX="-create1"; WL_LABEL="create c=1" ;;
  *) echo "E2E_WORKLOAD must be read1 or create1 (got $E2E_WORKLOAD)" >&2; exit 2 ;;
esac
OUT=target/callgrind
mkdir -p "$OUT"
cargo build --quiet --profile bench -p sextant-e2e-bench --bins
BIN=${CARGO_TARGET_DIR:-target}/release

# Total instructions (Ir) recorded in a callgrind output file.
ir() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }

run() { # name N command...
  local name=$1 n=$2; shift 2
  local file="$OUT/$name.$n.out"
  valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$file" "$@" \
    >"$OUT/$name.$n.log" 2>&1 \
    || { echo "callgrind run $name N=$n failed; see $OUT/$name.$n.log" >&2; tail -20 "$OUT/$name.$n.log" >&2; exit 1; }
  callgrind_annotate --auto=no --tree=none --threshold=100 "$file" > "$OUT/$name.$n.self.txt" 2>/dev/null || true
  ir "$file"
}

per_op() { # name ir1 ir2
  awk -v a="$2" -v b="$3" -v n1="$N1" -v n2="$N2" -v name="$1" \
    'BEGIN { printf "%-36s Ir(%d)=%.0f Ir(%d)=%.0f  =>  %.0f instructions per op\n", name, n1, a, n2, b, (b - a) / (n2 - n1) }'
}

# Calls to the Rust global allocator (`__rdl_alloc`: heap allocations) recorded in a callgrind
# output file, summed over every call site.
allocs() {
  python3 - "$1" <<'PY'
import re, sys
names, total, cfn = {}, 0, None
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('cfn='):
        m = re.match(r'cfn=\((\d+)\)(?: (.*))?', line.rstrip('\n'))
        if m:
            if m.group(2) is not None:
                names[m.group(1)] = m.group(2)
            cfn = names.get(m.group(1), '')
        else:
            cfn = line[4:].strip()
    elif line.startswith('fn='):
        m = re.match(r'fn=\((\d+)\) (.*)', line.rstrip('\n'))
        if m:
            names[m.group(1)] = m.group(2)
    elif line.startswith('calls=') and cfn is not None and cfn.split('::')[-1] == '__rdl_alloc':
        total += int(line[6:].split()[0])
print(total)
PY
}

# Two measures from the N1 and N2 runs' per-instruction counts (`--dump-instr=yes`), per op,
# printed as two lines:
# - atomic read-modify-write instructions (`lock`-prefixed, and `xchg` with memory, which is
#   locked implicitly) executed in BINARY's own code (not in shared libraries such as libc).
#   Callgrind counts each as one instruction; natively each costs tens of cycles (reference
#   counts of `Arc` and `Bytes`, mostly), so they are reported on their own. By function in
#   <name>.atomics.txt.
# - the code footprint: distinct 64-byte lines of code (in any object) whose instructions run at
#   least once every other op. At c=1 an operation most likely starts with cold caches
#   (docs/PERFORMANCE.md, "Issue 9: native cost is memory, not instructions"), so natively it
#   pays per line it touches more than per instruction it runs. By function in <name>.codelines.txt.
instr_stats() { # name binary
  python3 - "$OUT/$1.$N1.out" "$OUT/$1.$N2.out" "$2" "$N1" "$N2" "$1" "$OUT/$1.atomics.txt" \
    "$OUT/$1.codelines.txt" <<'PY'
import collections, re, subprocess, sys
f1, f2, binary, n1, n2, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
atomics_by_fn, lines_by_fn = sys.argv[7], sys.argv[8]
locked = set()
dis = subprocess.run(['objdump', '-d', '--no-show-raw-insn', binary], capture_output=True, text=True).stdout
for line in dis.splitlines():
    m = re.match(r'\s*([0-9a-f]+):\s+(.*)', line)
    if m and (re.search(r'\block\b', m.group(2)) or re.match(r'xchg\s.*\(', m.group(2))):
        locked.add(int(m.group(1), 16))
target = binary.rsplit('/', 1)[-1]
def count(path):
    # Self executions per (object, instruction address), and the function of each address.
    # Positions are `instr line`; an absolute instruction address is hex, a relative one
    # `+n`/`-n` (decimal), `*` the same; the line after `calls=` is a call's inclusive cost,
    # not an execution.
    obs, fns, ob, fn, addr, after_call = {}, {}, None, None, 0, False
    execs, fn_of = collections.Counter(), {}
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        m = re.match(r'(c?ob)=\((\d+)\)(?: (.*))?$', line)
        if m:
            if m.group(3) is not None:
                obs[m.group(2)] = m.group(3)
            if m.group(1) == 'ob':
                ob = obs.get(m.group(2), '')
            continue
        m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?$', line)
        if m:
            if m.group(3) is not None:
                fns[m.group(2)] = m.group(3)
            if m.group(1) == 'fn':
                fn = fns.get(m.group(2))
            continue
        if line.startswith('calls='):
            after_call = True
            continue
        c = line[:1]
        if not c or not (c.isdigit() or c in '+-*'):
            continue
        parts = line.split()
        p = parts[0]
        if p.startswith('0x'):
            addr = int(p, 16)
        elif p[0] == '+':
            addr += int(p[1:])
        elif p[0] == '-':
            addr -= int(p[1:])
        elif p != '*':
            addr = int(p)
        if after_call:
            after_call = False
            continue
        if len(parts) >= 3:
            execs[(ob, addr)] += int(parts[2])
            fn_of[(ob, addr)] = fn
    return execs, fn_of
a, _ = count(f1)
b, fn_of = count(f2)
per_op = {k: (v - a[k]) / (n2 - n1) for k, v in b.items()}
atomics = collections.Counter()
lines, lines_of = set(), collections.defaultdict(set)
for (ob, addr), v in per_op.items():
    fn = fn_of[(ob, addr)] or '???'
    if ob and ob.endswith('/' + target) and addr in locked:
        atomics[fn] += v
    if v >= 0.5:
        line = (ob, addr >> 6)
        lines.add(line)
        lines_of[fn].add(line)
with open(atomics_by_fn, 'w') as out:
    out.write("# %s: atomic read-modify-writes per op, by the function executing them\n" % name)
    for fn, v in sorted(atomics.items(), key=lambda r: -r[1]):
        if abs(v) >= 0.01:
            out.write("%7.2f  %s\n" % (v, fn))
with open(lines_by_fn, 'w') as out:
    out.write("# %s: distinct 64-byte code lines run per op, by function (a line holding the\n"
              "# code of two functions counts for both, so the rows add up to more than the total)\n" % name)
    for fn, s in sorted(lines_of.items(), key=lambda r: -len(r[1])):
        out.write("%6d  %s\n" % (len(s), fn))
# The summary reads the number third from the end of the first line, and the last number of
# the second.
print("%-36s atomic read-modify-writes: %.1f per op" % (name, sum(atomics.values())))
print("%-36s 64-byte code lines run per op (%.0f KiB): %d" % (name, len(lines) * 64 / 1024, len(lines)))
PY
}

allocs_per_op() { # name
  local a b
  a=$(allocs "$OUT/$1.$N1.out")
  b=$(allocs "$OUT/$1.$N2.out")
  awk -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" -v name="$1" \
    'BEGIN { printf "%-36s __rdl_alloc calls: %.1f heap allocations per op\n", name, (b - a) / (n2 - n1) }'
}

# Differential self cost per function and per op: perop NAME [BASELINE_NAME [VS_LABEL]]
# (the baseline file is NAME.vs-VS_LABEL.txt; VS_LABEL defaults to BASELINE_NAME without `e2e-`)
perop() {
  python3 - "$OUT" "$1" "${2:-}" "$N1" "$N2" "${3:-}" <<'PY'
import collections, re, sys
out, name, base, n1, n2 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
label = sys.argv[6] or base.replace('e2e-', '')
def load(path):
    d = collections.defaultdict(int)
    for line in open(path):
        m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$', line)
        if not m or 'PROGRAM TOTALS' in line:
            continue
        key = re.sub(r' \[[^\]]*\]$', '', m.group(2))
        fn = key.split(':', 1)[1] if ':' in key and not key.startswith('???') else key
        d[fn] += int(m.group(1).replace(',', ''))   # self cost, summed over inlined files
    return d
def per_op(n):
    a, b = load(f"{out}/{n}.{n1}.self.txt"), load(f"{out}/{n}.{n2}.self.txt")
    return {k: (b.get(k, 0) - a.get(k, 0)) / (n2 - n1) for k in set(a) | set(b)}
def crate(fn):
    m = re.match(r'^<*([A-Za-z_][A-Za-z0-9_]*)', fn)
    c = m.group(1) if m else fn
    if re.match(r'^(_int_|malloc|free|realloc|cfree|unlink_chunk|__mem|__str|_?_?libc)', fn):
        return 'libc (malloc/free/memcpy)'
    if c in ('alloc', '__rustc', '__rdl_alloc'):
        return 'alloc (Rust allocator glue, Vec/String)'
    return c
x = per_op(name)
with open(f"{out}/{name}.perop.txt", "w") as f:
    f.write(f"# {name}: self instructions per op, (Ir({n2}) - Ir({n1})) / {n2 - n1}, by function\n")
    f.write(f"# total {sum(x.values()):.0f}\n")
    for k, v in sorted(x.items(), key=lambda r: -r[1]):
        if abs(v) >= 20:
            f.write(f"{v:9.0f}  {k}\n")
    by = collections.defaultdict(float)
    for k, v in x.items():
        by[crate(k)] += v
    f.write("\n# by crate\n")
    for k, v in sorted(by.items(), key=lambda r: -r[1]):
        if abs(v) >= 20:
            f.write(f"{v:9.0f}  {k}\n")
if base:
    y = per_op(base)
    with open(f"{out}/{name}.vs-{label}.txt", "w") as f:
        f.write(f"# self instructions per op: {name} minus {base} (columns: diff, {base}, {name})\n")
        f.write(f"# totals {sum(y.values()):.0f} -> {sum(x.values()):.0f}\n\n# by crate\n")
        cx, cy = collections.defaultdict(float), collections.defaultdict(float)
        for k, v in x.items(): cx[crate(k)] += v
        for k, v in y.items(): cy[crate(k)] += v
        for k in sorted(set(cx) | set(cy), key=lambda k: -abs(cx[k] - cy[k])):
            if abs(cx[k] - cy[k]) >= 20:
                f.write(f"{cx[k] - cy[k]:9.0f} {cy[k]:9.0f} {cx[k]:9.0f}  {k}\n")
        f.write("\n# by function\n")
        for k in sorted(set(x) | set(y), key=lambda k: -abs(x.get(k, 0) - y.get(k, 0))):
            d = x.get(k, 0) - y.get(k, 0)
            if abs(d) >= 50:
                f.write(f"{d:9.0f} {y.get(k, 0):9.0f} {x.get(k, 0):9.0f}  {k}\n")
PY
}

echo "== core: one point-read Execution cycle (no I/O)"
for mode in routed unrouted; do
  a=$(run "core_cycle-$mode" "$N1" "$BIN/core_cycle" "$N1" "$mode")
  b=$(run "core_cycle-$mode" "$N2" "$BIN/core_cycle" "$N2" "$mode")
  per_op "core point-read cycle ($mode)" "$a" "$b"
  allocs_per_op "core_cycle-$mode"
  instr_stats "core_cycle-$mode" "$BIN/core_cycle"
  grep -h "core_cycle:" "$OUT/core_cycle-$mode.$N2.log" | sed 's/^/    /'
  perop "core_cycle-$mode"
done

if [[ $E2E == 1 ]]; then
  echo "== end to end: $WL_LABEL against the local server, client process only"
  declare -A IPO APO RMW CODE MEASURED
  CLIENTS=(${E2E_CLIENTS:-raw raw-ureq raw-hyper raw-hyper-smol tokio blocking async-std smol})
  for c in "${CLIENTS[@]}"; do
    name="e2e-$c$WL_SUFFIX"
    # No re-measurement and no waiting for a quiet CPU: each run does exactly N ops.
    args=(--clients "$c" --workloads "$E2E_WORKLOAD" --rounds 1 --warmup 200 --watchdog-secs 3600
          --noise-retries 0 --quiet-wait-secs 0)
    a=$(run "$name" "$N1" "$BIN/sextant-e2e-bench" "${args[@]}" --ops "$N1")
    b=$(run "$name" "$N2" "$BIN/sextant-e2e-bench" "${args[@]}" --ops "$N2")
    line=$(per_op "e2e $WL_LABEL $c" "$a" "$b"); echo "$line"
    IPO[$c]=$(awk '{print $(NF-3)}' <<<"$line")
    line=$(allocs_per_op "$name"); echo "$line"
    APO[$c]=$(awk '{print $(NF-4)}' <<<"$line")
    stats=$(instr_stats "$name" "$BIN/sextant-e2e-bench"); echo "$stats"
    RMW[$c]=$(awk 'NR == 1 {print $(NF-2)}' <<<"$stats")
    CODE[$c]=$(awk 'NR == 2 {print $NF}' <<<"$stats")
    MEASURED[$c]=1
    perop "$name"
  done
  # Pairings, once every client is measured. The minimal raw client as before (from this run or
  # an earlier one with the same N1, N2): sextant-blocking against raw ureq, sextant-async-std
  # against raw hyper (under smol against raw hyper on smol when measured), sextant-tokio against
  # raw reqwest. The identical-wire raw client only when measured in this run.
  have() { [[ -f "$OUT/e2e-$1$WL_SUFFIX.$N2.self.txt" ]]; }
  minimal_of() {
    case $1 in
      blocking) have raw-ureq && echo raw-ureq ;;
      smol) if have raw-hyper-smol; then echo raw-hyper-smol; elif have raw-hyper; then echo raw-hyper; fi ;;
      async-std) have raw-hyper && echo raw-hyper ;;
      raw* | *-app) ;;
      *) have raw && echo raw ;;
    esac
    return 0
  }
  wire_of() {
    case $1 in
      tokio) echo raw-wire ;;
      blocking) echo raw-ureq-wire raw-ureq-wire-bounded ;;
      async-std) echo raw-hyper-wire ;;
      tokio-app) echo raw-wire-app ;;
      blocking-app) echo raw-ureq-wire-app ;;
      async-std-app) echo raw-hyper-wire-app ;;
    esac
    return 0
  }
  SUMMARY=()
  for c in "${CLIENTS[@]}"; do
    [[ $c == raw* ]] && continue
    m=$(minimal_of "$c"); w=""
    [[ -n $m ]] && perop "e2e-$c$WL_SUFFIX" "e2e-$m$WL_SUFFIX" "$m"
    for b in $(wire_of "$c"); do
      [[ -n ${MEASURED[$b]:-} ]] || continue
      perop "e2e-$c$WL_SUFFIX" "e2e-$b$WL_SUFFIX" "$b"
      w="$w $b"
    done
    for base in $m $w; do
      [[ -n ${IPO[$base]:-} ]] || continue
      SUMMARY+=("$(awk -v c="$c" -v b="$base" -v i="${IPO[$c]}" -v bi="${IPO[$base]}" \
        -v a="${APO[$c]}" -v ba="${APO[$base]}" -v r="${RMW[$c]}" -v br="${RMW[$base]}" \
        -v l="${CODE[$c]}" -v bl="${CODE[$base]}" \
        'BEGIN { printf "  %-10s / %-21s %.3fx instructions, %+.1f allocations, %+.1f atomics, %.2fx code lines per op", c, b, i / bi, a - ba, r - br, (bl > 0 ? l / bl : 0) }')")
    done
  done
  echo "== summary: $WL_LABEL, per op (N1=$N1, N2=$N2)"
  for c in "${CLIENTS[@]}"; do
    printf '  %-22s %8.0f instructions %6.1f allocations %6.1f atomics %6d code lines\n' "$c" \
      "${IPO[$c]}" "${APO[$c]}" "${RMW[$c]}" "${CODE[$c]}"
  done
  if ((${#SUMMARY[@]})); then
    printf '%s\n' "${SUMMARY[@]}"
  fi
fi
