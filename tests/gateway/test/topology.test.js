"use strict";
const path = require("path");
const test = require("node:test");
const assert = require("node:assert");
const fs = require("fs");
const { initialRanges, rangeFor } = require("../lib/topology");
const { epkOf } = require("../lib/routing");

test("N ranges tile the EPK space without gaps", () => {
  for (const n of [1, 3, 8]) {
    const rs = initialRanges(n);
    assert.strictEqual(rs.length, n);
    assert.strictEqual(rs[0].minInclusive, "");
    assert.strictEqual(rs[n - 1].maxExclusive, "FF");
    for (let i = 1; i < n; i++) assert.strictEqual(rs[i].minInclusive, rs[i - 1].maxExclusive);
  }
  assert.throws(() => initialRanges(0), /--partitions/);
});

test("every EPK falls in exactly one range", () => {
  const rs = initialRanges(8);
  for (const v of ["a", "b", 1, 2.5, true, null, "zz"]) {
    const { epk } = epkOf([v], { kind: "Hash", version: 2, paths: ["/pk"] });
    assert.ok(rangeFor(rs, epk), `no range for ${epk}`);
  }
});

test("V2 hashes match the SDK-generated vectors (core/tests/vectors)", () => {
  // The repo's copy of the official SDKs' partition-key vectors; missing is a failure, not a skip.
  const file = path.join(__dirname, "..", "..", "..", "core", "tests", "vectors", "pk_sample.json");
  const { vectors } = JSON.parse(fs.readFileSync(file, "utf8"));
  let checked = 0;
  for (const v of vectors) {
    if (v.kind !== "Hash" || !v.epk_v2 || !v.epk_v2.agree || !v.header || !v.header.agree) continue;
    const values = JSON.parse(v.header.js);
    // Only the header-expressible inputs (the header has no `undefined`).
    if (!Array.isArray(values) || values.length !== 1) continue;
    const { epk } = epkOf(values, { kind: "Hash", version: 2, paths: ["/pk"] });
    assert.strictEqual(epk, v.epk_v2.js, `vector ${v.id}`);
    checked++;
  }
  assert.ok(checked > 0, "no usable vectors");
});

test("keys spread over every range (V2 EPKs lie below 0x40...)", () => {
  for (const n of [3, 8]) {
    const rs = initialRanges(n);
    const hit = new Set();
    for (let i = 0; i < 400; i++) hit.add(rangeFor(rs, epkOf([`key-${i}`], { kind: "Hash", version: 2, paths: ["/pk"] }).epk).id);
    assert.strictEqual(hit.size, n, `only ${[...hit]} of ${n} ranges hit`);
  }
});

test("bad pk headers get typed errors", () => {
  assert.match(epkOf("x", {}).error, /JSON array/);
  assert.match(epkOf(["a", "b"], { kind: "Hash", paths: ["/pk"] }).error, /expected 1/);
});
