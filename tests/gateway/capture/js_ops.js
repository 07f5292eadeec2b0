#!/usr/bin/env node
// Runs named operations with the official JS SDK (@azure/cosmos, pinned in ../package.json)
// against the recording server (recorder.js) and prints, per operation, the requests it sent.
//
// Usage: node tests/gateway/capture/js_ops.js --endpoint http://127.0.0.1:PORT/ --key KEY
//          [--ops name,name,...]
// Output: one JSON line per operation, {"name":..., "requests":[...]} (the recorder's log entries
// for that operation alone), in the order of OPS below. Exits non-zero, naming the operation, on
// the first failure; exits 3 if the whole run takes longer than RUN_TIMEOUT_MS.
//
// Each operation is {prep?, run}: `prep` is not captured (e.g. reading the offer that `run`
// replaces); the recorder's log is reset after `prep` and read after `run`. Before the first
// operation the SDK's caches are warmed (account, database, container), so each capture holds
// only the operation's own requests. The operation names are the contract with
// tests/tests/wire_conformance.rs.
"use strict";

const http = require("http");
const { CosmosClient } = require("@azure/cosmos");

/** Bound on the whole run (every operation, warm-up included). */
const RUN_TIMEOUT_MS = 60 * 1000;
/** Bound on one SDK request and one admin request to the recorder. */
const REQUEST_TIMEOUT_MS = 10 * 1000;

const DB = "capdb";
const COLL = "capcoll";
const PK_DEF = { paths: ["/pk"], kind: "Hash", version: 2 };
const ITEM = { id: "item1", pk: "pk1", n: 1 };
const SPROC_BODY = "function (a, b) { console.log('args ' + a + b); getContext().getResponse().setBody({ a: a, b: b }); }";
const UDF_BODY = "function (x) { return x * 2; }";
const TRIGGER_BODY = "function () { var r = getContext().getRequest(); r.setBody(r.getBody()); }";

/** The operations, in the order they run (deletes of the database and container last). */
const OPS = [
  ["read_account", { run: c => c.client.getDatabaseAccount() }],
  ["create_database", { run: c => c.client.databases.create({ id: DB }) }],
  ["create_database_manual_400", { run: c => c.client.databases.create({ id: DB, throughput: 400 }) }],
  ["create_database_autoscale_4000", { run: c => c.client.databases.create({ id: DB, maxThroughput: 4000 }) }],
  ["read_database", { run: c => c.db.read() }],
  ["list_databases", { run: c => c.client.databases.readAll().fetchNext() }],
  ["create_container", { run: c => c.db.containers.create({ id: COLL, partitionKey: PK_DEF }) }],
  ["create_container_manual_400", { run: c => c.db.containers.create({ id: COLL, partitionKey: PK_DEF, throughput: 400 }) }],
  ["create_container_autoscale_4000", { run: c => c.db.containers.create({ id: COLL, partitionKey: PK_DEF, maxThroughput: 4000 }) }],
  ["read_container", { run: c => c.coll.read() }],
  ["replace_container", { run: c => c.coll.replace({ id: COLL, partitionKey: PK_DEF, defaultTtl: 3600 }) }],
  ["list_containers", { run: c => c.db.containers.readAll().fetchNext() }],
  ["create_item", { run: c => c.coll.items.create({ ...ITEM }) }],
  ["read_item", { run: c => c.coll.item(ITEM.id, ITEM.pk).read() }],
  ["replace_item", { run: c => c.coll.item(ITEM.id, ITEM.pk).replace({ ...ITEM, n: 2 }) }],
  ["upsert_item", { run: c => c.coll.items.upsert({ ...ITEM, n: 3 }) }],
  ["patch_item", {
    // The object form ({operations}), which also carries a condition; JS sends the caller's
    // shape verbatim (a bare array too, which the service accepts).
    run: c => c.coll.item(ITEM.id, ITEM.pk).patch({
      operations: [
        { op: "set", path: "/name", value: "x" },
        { op: "incr", path: "/n", value: 1 }
      ]
    })
  }],
  ["query_items_single_partition", {
    run: async c => {
      const it = c.coll.items.query(
        { query: "SELECT * FROM c WHERE c.n = @n", parameters: [{ name: "@n", value: 1 }] },
        { partitionKey: ITEM.pk }
      );
      await it.fetchNext();
      // The SDK asks for a query plan speculatively and does not wait for it when the query is
      // scoped to a partition key (queryIterator.js fetchNextInternal): wait for it here, or it
      // could land in the next operation's capture.
      if (!it.queryPlanPromise) throw new Error("the pinned SDK no longer keeps queryPlanPromise; revisit this wait");
      await it.queryPlanPromise;
    }
  }],
  ["batch", {
    run: c => c.coll.items.batch([
      { operationType: "Create", resourceBody: { id: "item2", pk: ITEM.pk, n: 2 } },
      { operationType: "Read", id: ITEM.id }
    ], ITEM.pk)
  }],
  // Not in the original list: an operation Sextant has that no other capture covers.
  ["delete_all_items_by_partition_key", { run: c => c.coll.deleteAllItemsForPartitionKey(ITEM.pk) }],
  ["delete_item", { run: c => c.coll.item(ITEM.id, ITEM.pk).delete() }],
  ["read_offer_container", { run: c => c.coll.readOffer() }],
  ["replace_offer_manual_500", {
    prep: async c => {
      c.offer = (await c.coll.readOffer()).resource;
    },
    run: c => c.client.offer(c.offer.id).replace({ ...c.offer, content: { ...c.offer.content, offerThroughput: 500 } })
  }],
  ["create_user", { run: c => c.db.users.create({ id: "user1" }) }],
  ["read_user", { run: c => c.db.user("user1").read() }],
  ["list_users", { run: c => c.db.users.readAll().fetchNext() }],
  ["replace_user", { run: c => c.db.user("user1").replace({ id: "user1" }) }],
  ["create_permission", {
    run: c => c.db.user("user1").permissions.create({
      id: "perm1",
      permissionMode: "Read",
      resource: `dbs/${DB}/colls/${COLL}`,
      resourcePartitionKey: [ITEM.pk]
    })
  }],
  ["read_permission", { run: c => c.db.user("user1").permission("perm1").read() }],
  // Not in the original list: minting a fresh resource token with an expiry (issue 14).
  ["read_permission_expiry_3600", { run: c => c.db.user("user1").permission("perm1").read({ resourceTokenExpirySeconds: 3600 }) }],
  ["list_permissions", { run: c => c.db.user("user1").permissions.readAll().fetchNext() }],
  ["delete_permission", { run: c => c.db.user("user1").permission("perm1").delete() }],
  ["delete_user", { run: c => c.db.user("user1").delete() }],
  ["create_sproc", { run: c => c.coll.scripts.storedProcedures.create({ id: "sp1", body: SPROC_BODY }) }],
  ["read_sproc", { run: c => c.coll.scripts.storedProcedure("sp1").read() }],
  ["list_sprocs", { run: c => c.coll.scripts.storedProcedures.readAll().fetchNext() }],
  ["replace_sproc", { run: c => c.coll.scripts.storedProcedure("sp1").replace({ id: "sp1", body: SPROC_BODY }) }],
  ["execute_sproc", { run: c => c.coll.scripts.storedProcedure("sp1").execute(ITEM.pk, [1, "two"], { enableScriptLogging: true }) }],
  ["delete_sproc", { run: c => c.coll.scripts.storedProcedure("sp1").delete() }],
  ["create_udf", { run: c => c.coll.scripts.userDefinedFunctions.create({ id: "udf1", body: UDF_BODY }) }],
  ["delete_udf", { run: c => c.coll.scripts.userDefinedFunction("udf1").delete() }],
  ["create_trigger", {
    run: c => c.coll.scripts.triggers.create({ id: "trg1", body: TRIGGER_BODY, triggerType: "Pre", triggerOperation: "Create" })
  }],
  ["create_item_with_pre_trigger", { run: c => c.coll.items.create({ ...ITEM }, { preTriggerInclude: ["trg1"] }) }],
  ["delete_trigger", { run: c => c.coll.scripts.trigger("trg1").delete() }],
  ["delete_container", { run: c => c.coll.delete() }],
  ["delete_database", { run: c => c.db.delete() }]
];

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--endpoint") opts.endpoint = argv[++i];
    else if (a === "--key") opts.key = argv[++i];
    else if (a === "--ops") opts.ops = argv[++i].split(",").filter(s => s !== "");
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.endpoint || !opts.key) throw new Error("--endpoint and --key are required");
  const known = new Set(OPS.map(([n]) => n));
  for (const n of opts.ops || []) if (!known.has(n)) throw new Error(`unknown operation ${n}`);
  return opts;
}

/** One admin request to the recorder (GET /_rec/log or POST /_rec/reset), bounded. */
function admin(endpoint, method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, endpoint), { method, timeout: REQUEST_TIMEOUT_MS }, res => {
      const chunks = [];
      res.on("data", d => chunks.push(d));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(text ? JSON.parse(text) : null);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const client = new CosmosClient({
    endpoint: opts.endpoint,
    key: opts.key,
    connectionPolicy: {
      requestTimeout: REQUEST_TIMEOUT_MS,
      // No account refresh timer: it would add GET / requests to whichever capture is running.
      enableBackgroundEndpointRefreshing: false
    }
  });
  const c = { client, db: client.database(DB) };
  c.coll = c.db.container(COLL);
  // Warm the SDK's caches: the account (endpoints), the database, the container (its
  // partition key definition).
  await client.getDatabaseAccount();
  await c.db.read();
  await c.coll.read();
  const wanted = opts.ops ? new Set(opts.ops) : undefined;
  for (const [name, op] of OPS) {
    if (wanted && !wanted.has(name)) continue;
    try {
      if (op.prep) await op.prep(c);
      await admin(opts.endpoint, "POST", "/_rec/reset");
      await op.run(c);
    } catch (e) {
      throw new Error(`operation ${name} failed: ${(e && e.stack) || e}`);
    }
    const requests = await admin(opts.endpoint, "GET", "/_rec/log");
    process.stdout.write(JSON.stringify({ name, requests }) + "\n");
  }
  client.dispose();
}

if (require.main !== module) throw new Error("js_ops.js is a script: run it with node");

const watchdog = setTimeout(() => {
  process.stderr.write(`js_ops.js: the run took longer than ${RUN_TIMEOUT_MS} ms\n`);
  process.exit(3);
}, RUN_TIMEOUT_MS);
watchdog.unref();

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`js_ops.js: ${(e && e.message) || e}\n`);
    process.exit(1);
  }
);
