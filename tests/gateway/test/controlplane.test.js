"use strict";
// The gateway's control-plane routes (lib/offers.js, security.js, scripts.js) over HTTP.
const test = require("node:test");
const assert = require("node:assert");

const { start, call } = require("./helpers");

const pkDef = { paths: ["/pk"], kind: "Hash", version: 2 };
const query = rid => ({ query: "SELECT * FROM c WHERE c.offerResourceId = @rid", parameters: [{ name: "@rid", value: rid }] });
const Q = { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json" };

test("offers: created with the resource, found by rid, replaced, migrated, pending", async () => {
  const { child, endpoint } = await start(2);
  try {
    assert.strictEqual((await call(endpoint, "POST", "/dbs", {}, { id: "db1" })).status, 201);
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls", { "x-ms-offer-throughput": "450" }, { id: "bad", partitionKey: pkDef })).status, 400);
    const c = await call(endpoint, "POST", "/dbs/db1/colls", { "x-ms-offer-throughput": "500" }, { id: "c1", partitionKey: pkDef });
    assert.strictEqual(c.status, 201);
    let found = await call(endpoint, "POST", "/offers", Q, query(c.body._rid));
    assert.strictEqual(found.body.Offers.length, 1);
    const offer = found.body.Offers[0];
    assert.deepStrictEqual(offer.content, { offerThroughput: 500 });
    // A database without throughput has no offer; a default container gets 400.
    const d = await call(endpoint, "GET", "/dbs/db1");
    assert.strictEqual((await call(endpoint, "POST", "/offers", Q, query(d.body._rid))).body.Offers.length, 0);
    const c2 = await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c2", partitionKey: pkDef });
    assert.deepStrictEqual((await call(endpoint, "POST", "/offers", Q, query(c2.body._rid))).body.Offers[0].content, { offerThroughput: 400 });
    // Mode changes need the migration header.
    const toAuto = { ...offer, content: { offerAutopilotSettings: { maxThroughput: 4000 } } };
    assert.strictEqual((await call(endpoint, "PUT", `/offers/${offer._rid}`, {}, toAuto)).status, 400);
    const mig = await call(endpoint, "PUT", `/offers/${offer._rid}`, { "x-ms-cosmos-migrate-offer-to-autopilot": "true" }, { ...offer, content: { offerThroughput: -1 } });
    assert.strictEqual(mig.status, 200);
    assert.deepStrictEqual(mig.body.content.offerAutopilotSettings, { maxThroughput: 5000 });
    // A pending scale: 202, then one pending read, then the new content.
    assert.strictEqual((await call(endpoint, "POST", "/_gateway/config", {}, { offerPendingReads: 2 })).status, 200);
    const up = await call(endpoint, "PUT", `/offers/${offer._rid}`, {}, { ...mig.body, content: { offerAutopilotSettings: { maxThroughput: 8000 } } });
    assert.strictEqual(up.status, 202);
    assert.strictEqual(up.headers.get("x-ms-offer-replace-pending"), "true");
    let r = await call(endpoint, "GET", `/offers/${offer._rid}`);
    assert.strictEqual(r.headers.get("x-ms-offer-replace-pending"), "true");
    r = await call(endpoint, "GET", `/offers/${offer._rid}`);
    assert.strictEqual(r.headers.get("x-ms-offer-replace-pending"), null);
    assert.strictEqual(r.body.content.offerAutopilotSettings.maxThroughput, 8000);
    assert.strictEqual(r.headers.get("x-ms-cosmos-min-throughput"), "1000");
    // Deleting the container drops its offer.
    assert.strictEqual((await call(endpoint, "DELETE", "/dbs/db1/colls/c1")).status, 204);
    found = await call(endpoint, "POST", "/offers", Q, query(c.body._rid));
    assert.strictEqual(found.body.Offers.length, 0);
  } finally {
    child.kill();
  }
});

test("resource tokens: scope, mode, partition key and expiry are enforced", async () => {
  const { child, endpoint } = await start(2);
  try {
    await call(endpoint, "POST", "/dbs", {}, { id: "db1" });
    await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c1", partitionKey: pkDef });
    await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c2", partitionKey: pkDef });
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/users", {}, { id: "alice" })).status, 201);
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/users", {}, { id: "alice" })).status, 409);
    const p = await call(endpoint, "POST", "/dbs/db1/users/alice/permissions", {}, { id: "r1", permissionMode: "Read", resource: "dbs/db1/colls/c1" });
    assert.strictEqual(p.status, 201);
    assert.match(p.body._token, /^type=resource&ver=1\.0&sig=/);
    const auth = { authorization: encodeURIComponent(p.body._token) };
    const pk = { "x-ms-documentdb-partitionkey": '["a"]' };
    await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", pk, { id: "1", pk: "a" });
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c1/docs/1", { ...auth, ...pk })).status, 200);
    assert.strictEqual((await call(endpoint, "GET", "/", auth)).status, 200);
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { ...auth, ...pk }, { id: "2", pk: "a" })).status, 403);
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c2", auth)).status, 403);
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c1", { authorization: "type%3Dresource%26ver%3D1.0%26sig%3Dnope" })).status, 401);
    // Narrowed to a partition key.
    const q = await call(endpoint, "POST", "/dbs/db1/users/alice/permissions", {}, { id: "a1", permissionMode: "All", resource: "dbs/db1/colls/c2", resourcePartitionKey: ["t1"] });
    const auth2 = { authorization: encodeURIComponent(q.body._token) };
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c2/docs", { ...auth2, "x-ms-documentdb-partitionkey": '["t1"]' }, { id: "x", pk: "t1" })).status, 201);
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c2/docs", { ...auth2, "x-ms-documentdb-partitionkey": '["t2"]' }, { id: "y", pk: "t2" })).status, 403);
    // Expiry bounds; deleting the permission revokes its tokens.
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/users/alice/permissions/r1", { "x-ms-documentdb-expiry-seconds": "5" })).status, 400);
    const list = await call(endpoint, "GET", "/dbs/db1/users/alice/permissions");
    assert.strictEqual(list.body.Permissions.length, 2);
    assert.strictEqual((await call(endpoint, "DELETE", "/dbs/db1/users/alice/permissions/r1")).status, 204);
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c1/docs/1", { ...auth, ...pk })).status, 401);
  } finally {
    child.kill();
  }
});

test("scripts: a stored procedure writes in its partition as a transaction; triggers run", async () => {
  const { child, endpoint } = await start(2);
  try {
    await call(endpoint, "POST", "/dbs", {}, { id: "db1" });
    await call(endpoint, "POST", "/dbs/db1/colls", {}, { id: "c1", partitionKey: pkDef });
    const body = `function (pk, n, fail) {
      var c = getContext().getCollection();
      console.log("making " + n);
      for (var i = 0; i < n; i++) c.createDocument(c.getSelfLink(), { id: "s" + i, pk: pk });
      c.queryDocuments(c.getSelfLink(), "SELECT * FROM c", {}, function (err, docs) {
        if (err) throw err;
        if (fail) throw new Error("asked to fail");
        getContext().getResponse().setBody({ count: docs.length });
      });
    }`;
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c1/sprocs", {}, { id: "make", body })).status, 201);
    const pk = { "x-ms-documentdb-partitionkey": '["a"]', "x-ms-documentdb-script-enable-logging": "true" };
    const ok = await call(endpoint, "POST", "/dbs/db1/colls/c1/sprocs/make", pk, ["a", 3, false]);
    assert.strictEqual(ok.status, 200, JSON.stringify(ok.body));
    assert.deepStrictEqual(ok.body, { count: 3 });
    assert.strictEqual(decodeURIComponent(ok.headers.get("x-ms-documentdb-script-log-results")), "making 3");
    // Failing rolls every write back.
    const bad = await call(endpoint, "POST", "/dbs/db1/colls/c1/sprocs/make", { "x-ms-documentdb-partitionkey": '["b"]' }, ["b", 2, true]);
    assert.strictEqual(bad.status, 400);
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c1/docs/s0", { "x-ms-documentdb-partitionkey": '["b"]' })).status, 404);
    // Writing outside the partition fails.
    const outside = await call(endpoint, "POST", "/dbs/db1/colls/c1/sprocs/make", { "x-ms-documentdb-partitionkey": '["c"]' }, ["d", 1, false]);
    assert.strictEqual(outside.status, 400);
    // A pre-trigger stamps the body.
    const trig = "function () { var r = getContext().getRequest(); var b = r.getBody(); b.stamped = true; r.setBody(b); }";
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c1/triggers", {}, { id: "stamp", body: trig, triggerType: "Pre", triggerOperation: "Create" })).status, 201);
    const made = await call(endpoint, "POST", "/dbs/db1/colls/c1/docs", { "x-ms-documentdb-partitionkey": '["a"]', "x-ms-documentdb-pre-trigger-include": "stamp" }, { id: "t1", pk: "a" });
    assert.strictEqual(made.status, 201);
    assert.strictEqual(made.body.stamped, true);
    assert.strictEqual((await call(endpoint, "GET", "/dbs/db1/colls/c1/triggers")).body.Triggers.length, 1);
    assert.strictEqual((await call(endpoint, "DELETE", "/dbs/db1/colls/c1/sprocs/make")).status, 204);
    assert.strictEqual((await call(endpoint, "POST", "/dbs/db1/colls/c1/sprocs/make", pk, [])).status, 404);
  } finally {
    child.kill();
  }
});
