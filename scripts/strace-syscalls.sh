#!/usr/bin/env bash
# Syscalls per point read (c=1), measured differentially with strace:
#   syscalls/op = (count(N2 ops) - count(N1 ops)) / (N2 - N1)
# which cancels start-up, setup and warm-up. Only the harness process's own threads count: the
# local server (taskset + node, forked by the harness) is excluded by following the clone tree
# from the harness's main thread through CLONE_THREAD clones only.
#
#   scripts/strace-syscalls.sh                       # every client in STRACE_CLIENTS
#   STRACE_CLIENTS="raw-hyper async-std smol" N1=1000 N2=3000 scripts/strace-syscalls.sh
#
# Env: N1 (default 1000), N2 (default 3000), STRACE_CLIENTS (default
# "raw-hyper raw-hyper-smol async-std smol"), WORKLOAD (default read1).
# Output: one line per client with the total per op, then the per-syscall breakdown per op;
# the traces stay in target/strace/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUST_BACKTRACE=0
N1=${N1:-1000}
N2=${N2:-3000}
WORKLOAD=${WORKLOAD:-read1}
OUT=target/strace
mkdir -p "$OUT"
cargo build --quiet --profile bench -p sextant-e2e-bench --bin sextant-e2e-bench
BIN=${CARGO_TARGET_DIR:-target}/release/sextant-e2e-bench

trace() { # client N -> directory of per-thread traces
  local dir="$OUT/$1.$2"
  rm -rf "$dir" && mkdir -p "$dir"
  strace -ff -o "$dir/t" "$BIN" --clients "$1" --workloads "$WORKLOAD" --rounds 1 --ops "$2" \
    --warmup 200 --noise-retries 0 --quiet-wait-secs 0 --watchdog-secs 3600 >"$dir.log" 2>&1 \
    || { echo "strace run $1 N=$2 failed; see $dir.log" >&2; tail -20 "$dir.log" >&2; exit 1; }
  echo "$dir"
}

for c in ${STRACE_CLIENTS:-raw-hyper raw-hyper-smol async-std smol}; do
  a=$(trace "$c" "$N1")
  b=$(trace "$c" "$N2")
  python3 - "$c" "$a" "$b" "$N1" "$N2" <<'PY'
import collections, glob, os, re, sys
name, a, b, n1, n2 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
CALL = re.compile(r'^(?:\d+:\d+:\d+(?:\.\d+)? )?([a-z_0-9]+)\(')
CLONE = re.compile(r'^(clone3?|fork|vfork)\((.*)\)\s+=\s+(\d+)')
def count(d):
    files = {int(f.rsplit('.', 1)[1]): f for f in glob.glob(f"{d}/t.*")}
    lines = {t: open(f, errors='replace').read().splitlines() for t, f in files.items()}
    # The harness's main thread is the one that started first (lowest tid, strace's child).
    root = min(files)
    keep, todo = set(), [root]
    while todo:
        t = todo.pop()
        if t in keep:
            continue
        keep.add(t)
        for l in lines.get(t, []):
            m = CLONE.match(l)
            if m and 'CLONE_THREAD' in m.group(2):
                todo.append(int(m.group(3)))
    c = collections.Counter()
    for t in keep:
        for l in lines.get(t, []):
            m = CALL.match(l)
            if not m or l.startswith('+++') or l.startswith('---'):
                continue
            sc = m.group(1)
            if 'EAGAIN' in l and sc in ('recvfrom', 'read', 'recvmsg'):
                sc += ' (EAGAIN)'
            c[sc] += 1
    return c
x, y = count(a), count(b)
per = {k: (y[k] - x[k]) / (n2 - n1) for k in set(x) | set(y)}
total = sum(per.values())
print(f"{name:<16} {total:6.2f} syscalls per op   (N1={n1}: {sum(x.values())}, N2={n2}: {sum(y.values())})")
for k, v in sorted(per.items(), key=lambda r: -r[1]):
    if abs(v) >= 0.05:
        print(f"    {v:6.2f}  {k}")
PY
done
