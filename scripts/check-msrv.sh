#!/usr/bin/env bash
# The declared MSRV (`rust-version` in Cargo.toml) must be at least the highest `rust-version`
# of every normal and build dependency of the published crates in Cargo.lock: a dependency that
# needs a newer compiler makes the claim false (sha2 0.11 needs 1.88). CI cannot download
# toolchains, so this metadata check stands in for a build with the MSRV compiler; when a
# toolchain of exactly that version is installed, the workspace is also checked with it.
set -euo pipefail
cd "$(dirname "$0")/.."

declared="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
[[ -n "${declared}" ]] || { echo "check-msrv: no rust-version in Cargo.toml" >&2; exit 1; }

cargo metadata --format-version 1 --locked | node -e '
const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
const declared = process.argv[1];
const published = new Set(["sextant-core", "sextant-tokio", "sextant-blocking", "sextant-async-std", "sextant-entra", "sextant-cli"]);
const byId = new Map(m.packages.map(p => [p.id, p]));
const nodes = new Map(m.resolve.nodes.map(n => [n.id, n]));
const cmp = (a, b) => {
  const x = a.split(".").map(Number), y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) { const d = (x[i] || 0) - (y[i] || 0); if (d) return d; }
  return 0;
};
const seen = new Set();
const stack = m.packages.filter(p => published.has(p.name)).map(p => p.id);
if (stack.length !== published.size) { console.error("check-msrv: a published crate is missing"); process.exit(1); }
while (stack.length) {
  const id = stack.pop();
  if (seen.has(id)) continue;
  seen.add(id);
  for (const d of nodes.get(id).deps) {
    if (d.dep_kinds.some(k => k.kind === null || k.kind === "build")) stack.push(d.pkg);
  }
}
let worst = { v: "0", name: "" };
for (const id of seen) {
  const p = byId.get(id);
  if (p.source && p.rust_version && cmp(p.rust_version, worst.v) > 0) worst = { v: p.rust_version, name: `${p.name} ${p.version}` };
}
console.log(`check-msrv: declared ${declared}; highest dependency requirement ${worst.v} (${worst.name}), ${seen.size} crates`);
if (cmp(worst.v, declared) > 0) {
  console.error(`check-msrv: ${worst.name} needs Rust ${worst.v}, above the declared rust-version ${declared}`);
  process.exit(1);
}
' "${declared}"

if rustup toolchain list 2>/dev/null | grep -q "^${declared}[.-]"; then
  echo "check-msrv: checking the workspace with Rust ${declared}"
  cargo "+${declared}" check --workspace --locked
else
  echo "check-msrv: no Rust ${declared} toolchain installed (CI cannot download one); the metadata check above stands in"
fi
