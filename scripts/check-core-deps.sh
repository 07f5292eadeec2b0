#!/usr/bin/env bash
# Proves the sans-IO core's normal dependency tree has no async runtime, HTTP client, socket
# library or entropy source (DESIGN.md §2). Exits non-zero, naming the offenders, if it does.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(tokio|reqwest|ureq|hyper|hyper-util|async-std|async-io|async-net|smol|mio|socket2|getrandom|rand|rand_core|futures-rustls|rustls|native-tls|openssl) '
tree=$(cargo tree -p sextant-core -e normal --prefix none --locked)
bad=$(printf '%s\n' "$tree" | grep -E "$forbidden" | sort -u || true)
if [ -n "$bad" ]; then
  echo "core dependency check FAILED: sextant-core depends on I/O or entropy crates:" >&2
  printf '  %s\n' "$bad" >&2
  exit 1
fi
count=$(printf "%s\n" "$tree" | sed "s/ (\*)//" | sort -u | wc -l)
echo "core dependency check passed: $count crates in sextant-core's normal tree, none of them a runtime, HTTP client or entropy source"
