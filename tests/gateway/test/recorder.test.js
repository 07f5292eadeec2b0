"use strict";
// The wire-conformance recorder's canned answers (capture/recorder.js): each is what a client
// needs to go on, built from the request alone.
const test = require("node:test");
const assert = require("node:assert");
const { answer } = require("../capture/recorder");

const EP = "http://127.0.0.1:1/";
const req = (method, headers = {}) => ({ method, headers });

test("the account points every location back at the recorder", () => {
  const r = answer(req("GET"), "/", "", EP);
  assert.strictEqual(r.status, 200);
  assert.deepStrictEqual(r.body.writableLocations, [{ name: "Local", databaseAccountEndpoint: EP }]);
  assert.deepStrictEqual(r.body.readableLocations, r.body.writableLocations);
});

test("creates echo the body with system properties; containers get a partition key", () => {
  const r = answer(req("POST"), "/dbs/d/colls", JSON.stringify({ id: "c", partitionKey: { paths: ["/x"], kind: "Hash", version: 2 } }), EP);
  assert.strictEqual(r.status, 201);
  assert.strictEqual(r.body.id, "c");
  assert.deepStrictEqual(r.body.partitionKey.paths, ["/x"]);
  for (const k of ["_rid", "_self", "_etag", "_ts"]) assert.ok(r.body[k] !== undefined, k);
  assert.deepStrictEqual(answer(req("GET"), "/dbs/d/colls/c", "", EP).body.partitionKey.paths, ["/pk"]);
});

test("feeds, queries and query plans", () => {
  const list = answer(req("GET"), "/dbs/d/users", "", EP);
  assert.strictEqual(list.body.Users.length, 1);
  assert.strictEqual(list.body._count, 1);
  const q = answer(req("POST", { "x-ms-documentdb-isquery": "True" }), "/offers", "{}", EP);
  const offer = q.body.Offers[0];
  assert.strictEqual(offer.offerVersion, "V2");
  assert.strictEqual(offer._self, `offers/${offer._rid}/`);
  assert.ok(offer.content.offerThroughput > 0);
  const plan = answer(req("POST", { "x-ms-cosmos-is-query-plan-request": "True" }), "/dbs/d/colls/c/docs", "{}", EP);
  assert.strictEqual(plan.body.partitionedQueryExecutionInfoVersion, 2);
});

test("permissions carry a token; sprocs execute; batches answer per operation", () => {
  assert.match(answer(req("GET"), "/dbs/d/users/u/permissions/p", "", EP).body._token, /^type=resource/);
  const ex = answer(req("POST"), "/dbs/d/colls/c/sprocs/sp", "[1,2]", EP);
  assert.strictEqual(ex.status, 200);
  assert.ok(ex.headers["x-ms-documentdb-script-log-results"]);
  const ops = [{ operationType: "Create", resourceBody: { id: "a" } }, { operationType: "Delete", id: "b" }];
  const b = answer(req("POST", { "x-ms-cosmos-is-batch-request": "True" }), "/dbs/d/colls/c/docs", JSON.stringify(ops), EP);
  assert.deepStrictEqual(b.body.map(o => o.statusCode), [201, 204]);
});

test("an unknown resource type is refused, not answered", () => {
  assert.strictEqual(answer(req("GET"), "/dbs/d/nope/x", "", EP).status, 400);
});
