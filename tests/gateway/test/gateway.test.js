"use strict";
// Starts gateway.js as a child process (like the Rust launcher will) and drives it over HTTP on
// 127.0.0.1 with bounded waits.
const test = require("node:test");
const assert = require("node:assert");
const { epkOf } = require("../lib/routing");
const { initialRanges, rangeFor } = require("../lib/topology");

const { start, call } = require("./helpers");

test("point writes land in the range the SDK's V2 hash selects", async () => {
  const n = 3;
  const { child, endpoint } = await start(n);
  try {
    assert.strictEqual((await call(endpoint, "POST", "/dbs", {}, { id: "db1" })).status, 201);
    const pkDef = { paths: ["/pk"], kind: "Hash", version: 2 };
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c1", partitionKey: pkDef })).status, 201);
    const ranges = initialRanges(n);
    const expected = {};
    for (let i = 0; i < 12; i++) {
      const pk = `p${i}`;
      const r = await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { "x-ms-documentdb-partitionkey": JSON.stringify([pk]) }, { id: `d${i}`, pk });
      assert.strictEqual(r.status, 201);
      const id = rangeFor(ranges, epkOf([pk], pkDef).epk).id;
      expected[id] = (expected[id] || 0) + 1;
    }
    const counts = (await call(endpoint, "GET", "/_gateway/requests")).body;
    for (const [id, c] of Object.entries(expected)) assert.strictEqual(counts[id].point, c, `range ${id}`);
    const read = await call(endpoint, "GET", "/dbs/db1/colls/c1/docs/d3", { "x-ms-documentdb-partitionkey": '["p3"]' });
    assert.strictEqual(read.status, 200);
    assert.strictEqual(read.body.id, "d3");
    const bad = await call(endpoint, "GET", "/dbs/db1/colls/c1/docs/d3", { "x-ms-documentdb-partitionkey": "nope" });
    assert.strictEqual(bad.status, 400);
    assert.match(bad.body.message, /x-ms-documentdb-partitionkey/);
  } finally {
    child.kill();
  }
});

test("pkranges lists N ranges and answers 304 to the current etag", async () => {
  const { child, endpoint } = await start(8);
  try {
    await call(endpoint, "POST", "/dbs", {}, { id: "db1" });
    await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c1", partitionKey: { paths: ["/pk"], kind: "Hash", version: 2 } });
    const r = await call(endpoint, "GET", "/dbs/db1/colls/c1/pkranges");
    assert.strictEqual(r.status, 200);
    assert.deepStrictEqual(r.body.PartitionKeyRanges.map(x => x.id), ["0", "1", "2", "3", "4", "5", "6", "7"]);
    const etag = r.headers.get("etag");
    assert.ok(etag);
    const again = await call(endpoint, "GET", "/dbs/db1/colls/c1/pkranges", { "a-im": "Incremental Feed", "if-none-match": etag });
    assert.strictEqual(again.status, 304);
    const root = await call(endpoint, "GET", "/");
    assert.strictEqual(root.body.writableLocations[0].databaseAccountEndpoint, endpoint);
  } finally {
    child.kill();
  }
});

test("split: children with parents, new etag, 410/1002 for the old id, documents keep _rid", async () => {
  const { child, endpoint } = await start(2);
  try {
    await call(endpoint, "POST", "/dbs", {}, { id: "db1" });
    await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c1", partitionKey: { paths: ["/pk"], kind: "Hash", version: 2 } });
    const rids = {};
    for (let i = 0; i < 20; i++) {
      const r = await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { "x-ms-documentdb-partitionkey": JSON.stringify([`k${i}`]) }, { id: `d${i}`, pk: `k${i}` });
      rids[i] = r.body._rid;
    }
    const before = await call(endpoint, "GET", "/dbs/db1/colls/c1/pkranges");
    const s = await call(endpoint, "POST", "/_gateway/split", {}, { db: "db1", coll: "c1", range: "0" });
    assert.strictEqual(s.status, 200);
    assert.deepStrictEqual(s.body.children, ["2", "3"]);
    assert.ok(s.body.moved > 0, "some documents moved to the new store");
    const after = await call(endpoint, "GET", "/dbs/db1/colls/c1/pkranges", { "a-im": "Incremental Feed", "if-none-match": before.headers.get("etag") });
    assert.strictEqual(after.status, 200);
    assert.notStrictEqual(after.headers.get("etag"), before.headers.get("etag"));
    const kids = after.body.PartitionKeyRanges.filter(r => r.parents.includes("0"));
    assert.deepStrictEqual(kids.map(r => r.id), ["2", "3"]);
    const gone = await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { "x-ms-documentdb-partitionkeyrangeid": "0", "x-ms-documentdb-isquery": "True" }, { query: "SELECT * FROM c" });
    assert.strictEqual(gone.status, 410);
    assert.strictEqual(gone.headers.get("x-ms-substatus"), "1002");
    // The substatus is configurable (a split or migration completing), and checked.
    assert.strictEqual((await call(endpoint, "POST", "/_gateway/config", {}, { goneSubStatus: 1007 })).status, 200);
    const completing = await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { "x-ms-documentdb-partitionkeyrangeid": "0", "x-ms-documentdb-isquery": "True" }, { query: "SELECT * FROM c" });
    assert.strictEqual(completing.status, 410);
    assert.strictEqual(completing.headers.get("x-ms-substatus"), "1007");
    assert.strictEqual((await call(endpoint, "POST", "/_gateway/config", {}, { goneSubStatus: 1000 })).status, 400);
    for (let i = 0; i < 20; i++) {
      const r = await call(endpoint, "GET", `/dbs/db1/colls/c1/docs/d${i}`, { "x-ms-documentdb-partitionkey": JSON.stringify([`k${i}`]) });
      assert.strictEqual(r.status, 200, `d${i} readable after the split`);
      assert.strictEqual(r.body._rid, rids[i]);
    }
  } finally {
    child.kill();
  }
});
