#!/usr/bin/env node
// Multi-partition loopback test gateway: N in-process @vercel/cosmosdb-server stores served as N
// partition key ranges behind one HTTP endpoint on 127.0.0.1 (ephemeral port).
//
// Usage: node tests/gateway/gateway.js [--partitions N] [--no-stdin-watch]
// Output: exactly one JSON line once listening: {"http":"http://127.0.0.1:PORT/","partitions":N}
// Exits when stdin closes (unless --no-stdin-watch) or on SIGTERM/SIGINT.
//
// What it serves: control-plane fan-out, GET /, pkranges (etag/304), point operations routed by
// EPK, query plans (lib/plan.js), per-range and partition-key-scoped queries (lib/query.js),
// a per-range change feed from a write log (lib/changefeed.js), atomic transactional batches (lib/batch.js), bulk batches per range with seeded 429 injection (lib/bulk.js), per-range read feed, splits (POST /_gateway/split, 410/1002 for the old range id), merges (POST /_gateway/merge {db, coll, left, right}: both old ids gone), and admin
// views of the topology, request counts and the query log; offers, users, permissions with
// resource-token checks, stored procedures and triggers (lib/offers.js, security.js, scripts.js),
// an empty conflicts feed (lib/conflicts.js), and GET /_gateway/control (what they did); POST /_gateway/config
// {"pkrangesPageSize": N} pages the pkranges feed like the service does, {"goneSubStatus": 1007}
// answers a gone range id with 410/1007 (or 1008) instead of 410/1002; GET /_gateway/bulk
// reports what bulk requests applied (writes per id, throttled operations).
"use strict";

const http = require("http");
const { createStore, dispatch } = require("./lib/store");
const { initialRanges, rangeFor } = require("./lib/topology");
const { epkOf, parsePkHeader } = require("./lib/routing");
const { pkrangesResponse } = require("./lib/pkranges");
const { split, merge, pkValuesOf, ridSpace } = require("./lib/admin");
const { plan } = require("./lib/plan");
const { runQuery } = require("./lib/query");
const { runBatch } = require("./lib/batch");
const bulk = require("./lib/bulk");
const changefeed = require("./lib/changefeed");
const offers = require("./lib/offers");
const security = require("./lib/security");
const scripts = require("./lib/scripts");
const conflicts = require("./lib/conflicts");

const HOST = "127.0.0.1";
// Same keep-alive choice as tests/server/launcher.js (pooled connections survive test phases).
const KEEP_ALIVE_TIMEOUT_MS = 120 * 1000;

function parseArgs(argv) {
  const opts = { partitions: 1, stdinWatch: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--partitions") opts.partitions = Number(argv[++i]);
    else if (a.startsWith("--partitions=")) opts.partitions = Number(a.slice(13));
    else if (a === "--no-stdin-watch") opts.stdinWatch = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.partitions) || opts.partitions < 1) {
    throw new Error(`--partitions must be an integer >= 1, got ${opts.partitions}`);
  }
  return opts;
}

const COLL_RE = /^\/dbs\/([^/]+)\/colls\/([^/]+)/i;
const PKRANGES_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/pkranges\/?$/i;
const DOC_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/docs\/[^/]+\/?$/i;
const DOCS_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/docs\/?$/i;
const PK_DELETE_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/operations\/partitionkeydelete\/?$/i;

/** Header booleans are compared case-insensitively to "true", like the server (LOCAL_SERVER.md §1.1). */
const isTrue = v => typeof v === "string" && v.toLowerCase() === "true";

/** Creates the gateway state and its request handler. */
function createGateway(n) {
  const stores = [];
  const gw = {
    stores,
    colls: new Map(), // "db/coll" -> {ranges, version, rid, pkDef}
    counts: {},
    // Every per-range query request: {range, continuation, bounded}; proves no page is fetched twice.
    queryLog: [],
    // Ranges per page of the pkranges feed (0: one page), set by POST /_gateway/config.
    pkrangesPageSize: 0,
    // The substatus a gone range id answers 410 with, set by POST /_gateway/config: 1002
    // (range gone, what the service says once a split or merge is done), or 1007 / 1008 (a
    // split or a partition migration completing), which say the same to a client: re-route.
    goneSubStatus: 1002,
    // Bulk (non-atomic batch) fault settings and what bulk requests applied (lib/bulk.js).
    bulk: bulk.createBulkState(),
    // Control-plane resources the plain server lacks (lib/offers.js, security.js, scripts.js).
    offers: offers.createOffers(),
    security: security.createSecurity(),
    scripts: scripts.createScripts(),
    endpoint: ""
  };
  const count = (range, kind) => {
    const k = `${range}`;
    gw.counts[k] = gw.counts[k] || {};
    gw.counts[k][kind] = (gw.counts[k][kind] || 0) + 1;
  };

  async function topologyOf(db, coll) {
    const key = `${db}/${coll}`;
    let t = gw.colls.get(key);
    if (t) return t;
    const r = await dispatch(stores[0], { method: "GET", url: `/dbs/${db}/colls/${coll}`, headers: {} });
    if (r.status !== 200 || !r.body) return undefined;
    t = { ranges: initialRanges(n), version: 1, rid: r.body._rid, pkDef: r.body.partitionKey, nextId: n, gone: new Set(), log: changefeed.createLog() };
    // Each store numbers this collection's documents from its own range (lib/admin.js ridSpace).
    t.ranges.forEach(range => {
      const docs = stores[range.store].database(db).collection(coll).documents;
      docs._ridCount = Math.max(docs._ridCount, ridSpace(range.store));
    });
    gw.colls.set(key, t);
    return t;
  }

  /** A query request: a plan, one range's page, or a partition-key-scoped query. */
  async function query(t, db, coll, req, url, body) {
    const h = req.headers;
    const fail = e => ({ status: e.status || 500, body: { code: e.status === 400 ? "BadRequest" : "InternalServerError", message: e.message } });
    if (isTrue(h["x-ms-cosmos-is-query-plan-request"])) {
      count("all", "plan");
      try {
        const spec = JSON.parse(body || "");
        return { status: 200, body: plan(spec.query, spec.parameters || [], t.pkDef, h["x-ms-cosmos-supported-query-features"]) };
      } catch (e) {
        return fail(e.status ? e : Object.assign(e, { status: 400 }));
      }
    }
    const docsUrl = `/dbs/${db}/colls/${coll}/docs`;
    const ctx = { url: docsUrl, body, headers: h, pkDef: t.pkDef, db, coll };
    const rangeId = h["x-ms-documentdb-partitionkeyrangeid"];
    let range;
    if (rangeId !== undefined) {
      range = t.ranges.find(r => r.id === rangeId);
      if (String(h["x-ms-read-key-type"] || "") === "EffectivePartitionKeyRange") {
        ctx.start = String(h["x-ms-start-epk"] || "");
        ctx.end = String(h["x-ms-end-epk"] || "FF");
      }
    } else if (typeof h["x-ms-documentdb-partitionkey"] === "string") {
      const p = parsePkHeader(h["x-ms-documentdb-partitionkey"]);
      const e = p.error ? p : epkOf(p.values, t.pkDef, { prefix: true });
      if (e.error) return { status: 400, body: { code: "BadRequest", message: e.error } };
      range = rangeFor(t.ranges, e.epk);
      ctx.pkValues = p.values;
      ctx.single = true;
    } else {
      return { status: 400, headers: { "x-ms-substatus": "1004" }, body: { code: "BadRequest", message: "The provided cross partition query can not be directly served by the gateway. This is a first chance (internal) exception that all newer clients will know how to handle gracefully. (test gateway: ask for a query plan)" } };
    }
    ctx.store = stores[range.store];
    count(range.id, "query");
    gw.queryLog.push({ range: range.id, continuation: h["x-ms-continuation"] || null, bounded: ctx.start !== undefined, single: !!ctx.single });
    try {
      return await runQuery(ctx);
    } catch (e) {
      return fail(e);
    }
  }

  /**
   * Deletes every item of the partition key in the header (the service does it in the
   * background; here it is done before answering). A prefix of a hierarchical key is refused,
   * as the service refuses it.
   */
  async function deletePartitionKey(t, db, coll, h) {
    const text = h["x-ms-documentdb-partitionkey"];
    const p = parsePkHeader(String(text || ""));
    const e = p.error ? p : epkOf(p.values, t.pkDef);
    if (e.error) return { status: 400, body: { code: "BadRequest", message: e.error } };
    const paths = (t.pkDef && t.pkDef.paths) || [];
    if (p.values.length !== paths.length) {
      return { status: 400, body: { code: "BadRequest", message: "delete by partition key needs the whole key, not a prefix" } };
    }
    const range = rangeFor(t.ranges, e.epk);
    count(range.id, "pkdelete");
    const store = stores[range.store];
    const items = store.database(db).collection(coll).documents;
    const victims = [...items._data.values()].map(i => i.read()).filter(d => epkOf(pkValuesOf(d, t.pkDef), t.pkDef).epk === e.epk);
    for (const d of victims) {
      const r = await dispatch(store, { method: "DELETE", url: `/dbs/${db}/colls/${coll}/docs/${encodeURIComponent(d.id)}`, headers: { "x-ms-documentdb-partitionkey": text } });
      if (r.status >= 400) return { status: 500, body: { code: "InternalServerError", message: `deleting ${d.id}: ${r.status}` } };
      changefeed.record(t.log, "delete", d.id, e.epk, p.values, undefined);
    }
    return { status: 200, body: {} };
  }

  /** A point operation on one range's store; applied writes go to the change log. */
  async function pointWrite(t, method, url, path, h, body, at) {
    // The store answers 500 for a missing item unless the cross-partition header is present
    // (LOCAL_SERVER.md §1.4, 2:P8); the service answers 404.
    const hh = method === "GET" ? { ...h, "x-ms-documentdb-query-enablecrosspartition": "True" } : h;
    const r = await dispatch(stores[at.store], { method, url, headers: hh, body });
    if (method !== "GET" && r.status < 400) {
      // The change log (lib/changefeed.js) hears every applied point write.
      const id = method === "POST" ? r.body && r.body.id : decodeURIComponent(path.split("/").pop());
      changefeed.record(t.log, method === "DELETE" ? "delete" : "write", id, at.epk, at.values, r.body);
    }
    return r;
  }

  /** The documents of one logical partition, for a script: point operations and a query. */
  function partitionOps(t, db, coll, at) {
    const docs = `/dbs/${db}/colls/${coll}/docs`;
    const same = doc => JSON.stringify(pkValuesOf(doc, t.pkDef)) === JSON.stringify(at.values);
    const hdr = { "x-ms-documentdb-partitionkey": JSON.stringify(at.values) };
    const outside = { status: 400, body: { code: "BadRequest", message: "PartitionKey extracted from document doesn't match the one specified in the header" } };
    const write = (method, id, doc) => {
      if (doc !== undefined && !same(doc)) return Promise.resolve(outside);
      const url = id === undefined ? docs : `${docs}/${encodeURIComponent(id)}`;
      const extra = method === "UPSERT" ? { "x-ms-documentdb-is-upsert": "True" } : {};
      return pointWrite(t, method === "UPSERT" ? "POST" : method, url, url, { ...hdr, ...extra }, doc === undefined ? undefined : JSON.stringify(doc), at);
    };
    return {
      create: doc => write("POST", undefined, doc),
      upsert: doc => write("UPSERT", undefined, doc),
      read: id => write("GET", id),
      replace: (id, doc) => write("PUT", id, doc),
      remove: id => write("DELETE", id),
      query: async spec => {
        const r = await dispatch(stores[at.store], { method: "POST", url: docs, headers: { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json", "x-ms-max-item-count": "-1", "x-ms-documentdb-query-enablecrosspartition": "True" }, body: JSON.stringify(spec) });
        if (r.status !== 200) return r;
        return { status: 200, body: { Documents: r.body.Documents.filter(same) } };
      }
    };
  }

  /** Where the pk header of a script or trigger request lands. */
  async function partitionOf(db, coll, h) {
    const t = await topologyOf(db, coll);
    if (!t) return { error: { status: 404, body: { code: "NotFound", message: `collection ${db}/${coll} not found` } } };
    const text = h["x-ms-documentdb-partitionkey"];
    if (typeof text !== "string") return { error: { status: 400, body: { code: "BadRequest", message: "a stored procedure runs in one logical partition: x-ms-documentdb-partitionkey is required" } } };
    const p = parsePkHeader(text);
    const e = p.error ? p : epkOf(p.values, t.pkDef);
    if (e.error) return { error: { status: 400, body: { code: "BadRequest", message: e.error } } };
    return { t, at: { values: p.values, epk: e.epk, store: rangeFor(t.ranges, e.epk).store } };
  }

  /** An item write naming pre/post triggers: the pre-trigger may change the body first. */
  async function withTriggers(t, db, coll, req, url, path, h, body, at) {
    const names = { pre: h["x-ms-documentdb-pre-trigger-include"], post: h["x-ms-documentdb-post-trigger-include"] };
    const found = {};
    for (const [k, id] of Object.entries(names)) {
      if (id === undefined) continue;
      const trig = scripts.getScript(gw.scripts, decodeURIComponent(db), decodeURIComponent(coll), "triggers", String(id));
      if (!trig) return { status: 400, body: { code: "BadRequest", message: `trigger ${id} not found` } };
      if (trig.triggerType.toLowerCase() !== k) return { status: 400, body: { code: "BadRequest", message: `trigger ${id} is a ${trig.triggerType} trigger` } };
      found[k] = trig;
    }
    const ops = partitionOps(t, decodeURIComponent(db), decodeURIComponent(coll), at);
    let text = body;
    if (found.pre) {
      let parsed;
      try {
        parsed = body === undefined ? undefined : JSON.parse(body);
      } catch (e) {
        return { status: 400, body: { code: "BadRequest", message: `body is not JSON: ${e.message}` } };
      }
      const request = { body: parsed };
      const out = await scripts.run(found.pre.body, [], { db, coll, ops, request });
      gw.scripts.runs.push({ trigger: found.pre.id, ok: out.ok });
      if (!out.ok) return { status: 400, body: { code: "BadRequest", message: `pre-trigger ${found.pre.id} failed: ${out.error}` } };
      text = request.body === undefined ? undefined : JSON.stringify(request.body);
    }
    const r = await pointWrite(t, req.method, url, path, h, text, at);
    if (found.post && r.status < 300) {
      const out = await scripts.run(found.post.body, [], { db, coll, ops, responseBody: r.body });
      gw.scripts.runs.push({ trigger: found.post.id, ok: out.ok });
      if (!out.ok) {
        if (req.method === "POST" && r.body && r.body.id !== undefined) await ops.remove(r.body.id);
        return { status: 400, body: { code: "BadRequest", message: `post-trigger ${found.post.id} failed: ${out.error}` } };
      }
    }
    return r;
  }

  /** Offers, users, permissions, sprocs and triggers (undefined for every other path). */
  async function controlPlane(req, path, h, body) {
    const method = req.method;
    if (path === "/offers" || path.startsWith("/offers/")) return offers.handle(gw.offers, method, path, h, body);
    const sec = security.handle(gw.security, method, path, h)(body);
    if (sec) return sec;
    const conflict = conflicts.handle(method, path);
    if (conflict) return conflict;
    const crud = scripts.handle(gw.scripts, method, path, h, body);
    if (crud) return crud;
    const exec = scripts.executionTarget(path, method);
    if (exec) {
      const sp = scripts.getScript(gw.scripts, exec.db, exec.coll, "sprocs", exec.id);
      if (!sp) return { status: 404, body: { code: "NotFound", message: `stored procedure ${exec.id} not found` } };
      const where = await partitionOf(exec.db, exec.coll, h);
      if (where.error) return where.error;
      let args;
      try {
        args = body ? JSON.parse(body) : [];
      } catch (e) {
        return { status: 400, body: { code: "BadRequest", message: `the arguments are not JSON: ${e.message}` } };
      }
      if (!Array.isArray(args)) args = [args];
      const out = await scripts.run(sp.body, args, { db: exec.db, coll: exec.coll, ops: partitionOps(where.t, exec.db, exec.coll, where.at) });
      gw.scripts.runs.push({ sproc: exec.id, ok: out.ok, args: args.length });
      const headers = isTrue(h["x-ms-documentdb-script-enable-logging"]) ? { "x-ms-documentdb-script-log-results": encodeURIComponent(out.logs.join("\n")) } : {};
      if (!out.ok) return { status: 400, headers, body: { code: "BadRequest", message: `Encountered exception while executing function. Exception = ${out.error}` } };
      return { status: 200, headers, body: out.body === undefined ? "" : out.body };
    }
    // Throughput at creation: checked before the stores see the create, recorded after.
    const isDbCreate = method === "POST" && path === "/dbs";
    const collCreate = method === "POST" && /^\/dbs\/([^/]+)\/colls$/i.exec(path);
    if (isDbCreate || collCreate) {
      const c = offers.creationContent(h);
      if (c.error) return { status: 400, body: { code: "BadRequest", message: c.error } };
      const r = await fanOut(req, h, body);
      if (r.status === 201 && r.body) {
        if (isDbCreate && c.content) offers.created(gw.offers, r.body, c.content);
        if (collCreate) {
          const db = await dispatch(stores[0], { method: "GET", url: `/dbs/${collCreate[1]}`, headers: {} });
          const dbRid = db.body && db.body._rid;
          const shared = dbRid && offers.hasOffer(gw.offers, dbRid);
          const content = c.content || (shared ? undefined : { offerThroughput: offers.DEFAULT_CONTAINER_RU });
          if (content) offers.created(gw.offers, r.body, content, dbRid);
        }
      }
      return r;
    }
    const del = method === "DELETE" && /^\/dbs\/[^/]+(\/colls\/[^/]+)?$/i.test(path);
    if (del) {
      const before = await dispatch(stores[0], { method: "GET", url: path, headers: {} });
      const r = await fanOut(req, h, body);
      if (r.status < 300 && before.body && before.body._rid) {
        offers.removedResource(gw.offers, before.body._rid);
        const coll = /^\/dbs\/([^/]+)\/colls\/([^/]+)$/i.exec(path);
        if (coll) gw.colls.delete(`${coll[1]}/${coll[2]}`);
      }
      return r;
    }
    return undefined;
  }

  /** A control-plane write to every store, answered with store 0's answer. */
  async function fanOut(req, h, body) {
    let first;
    for (const s of stores) {
      const r = await dispatch(s, { method: req.method, url: req.url, headers: h, body });
      if (!first) first = r;
    }
    return first;
  }

  async function handle(req, body) {
    const url = req.url;
    const path = url.split("?")[0].replace(/\/+$/, "") || "/";
    const h = req.headers;
    if (path === "/_gateway/topology" && req.method === "GET") {
      const out = {};
      for (const [k, t] of gw.colls) out[k] = { version: t.version, ranges: t.ranges };
      return { status: 200, body: { partitions: n, collections: out } };
    }
    if (path === "/_gateway/requests" && req.method === "GET") return { status: 200, body: gw.counts };
    if (path === "/_gateway/query-log" && req.method === "GET") return { status: 200, body: gw.queryLog };
    if (path === "/_gateway/bulk" && req.method === "GET") return { status: 200, body: bulk.report(gw.bulk) };
    if (path === "/_gateway/control" && req.method === "GET") {
      return { status: 200, body: { offers: gw.offers.log, denied: gw.security.denied, aad: gw.security.aad, scriptRuns: gw.scripts.runs } };
    }
    if (path === "/_gateway/config" && req.method === "POST") {
      let c;
      try {
        c = JSON.parse(body || "");
      } catch (e) {
        return { status: 400, body: { code: "BadRequest", message: `config body is not JSON: ${e.message}` } };
      }
      const bulkError = bulk.configure(gw.bulk, c);
      if (bulkError) return { status: 400, body: { code: "BadRequest", message: bulkError } };
      if (c.offerPendingReads !== undefined) {
        if (!Number.isInteger(c.offerPendingReads) || c.offerPendingReads < 0) return { status: 400, body: { code: "BadRequest", message: "offerPendingReads must be an integer >= 0" } };
        gw.offers.pendingReads = c.offerPendingReads;
      }
      if (c.goneSubStatus !== undefined) {
        if (![1002, 1007, 1008].includes(c.goneSubStatus)) return { status: 400, body: { code: "BadRequest", message: "goneSubStatus must be 1002, 1007 or 1008" } };
        gw.goneSubStatus = c.goneSubStatus;
      }
      if (c.pkrangesPageSize !== undefined) {
        if (!Number.isInteger(c.pkrangesPageSize) || c.pkrangesPageSize < 0) return { status: 400, body: { code: "BadRequest", message: "pkrangesPageSize must be an integer >= 0" } };
        gw.pkrangesPageSize = c.pkrangesPageSize;
      }
      return { status: 200, body: { pkrangesPageSize: gw.pkrangesPageSize, goneSubStatus: gw.goneSubStatus, bulkThrottleRate: gw.bulk.throttleRate, bulkRetryAfterMs: gw.bulk.retryAfterMs } };
    }
    if (path === "/_gateway/requests/reset" && req.method === "POST") {
      gw.counts = {};
      gw.queryLog = [];
      bulk.reset(gw.bulk);
      return { status: 204 };
    }
    const isQuery = req.method === "POST" && (isTrue(h["x-ms-documentdb-isquery"]) || isTrue(h["x-ms-cosmos-is-query-plan-request"]) || String(h["content-type"] || "").startsWith("application/query+json"));
    const refused = security.authorize(gw.security, req.method, path, h, isQuery);
    if (refused) return refused;
    const control = await controlPlane(req, path, h, body);
    if (control) return control;
    if (path === "/" && req.method === "GET") {
      const r = await dispatch(stores[0], { method: "GET", url, headers: h });
      // The server advertises its own https address; point every location at the gateway.
      for (const key of ["writableLocations", "readableLocations"]) {
        if (r.body) r.body[key] = [{ name: "Local", databaseAccountEndpoint: gw.endpoint }];
      }
      return r;
    }
    if (path === "/_gateway/split" && req.method === "POST") {
      let a;
      try {
        a = JSON.parse(body || "");
      } catch (e) {
        return { status: 400, body: { code: "BadRequest", message: `split body is not JSON {db, coll, range}: ${e.message}` } };
      }
      const t = a && (await topologyOf(a.db, a.coll));
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${a && a.db}/${a && a.coll} not found` } };
      return split(gw, t, a.db, a.coll, a.range);
    }
    if (path === "/_gateway/merge" && req.method === "POST") {
      let a;
      try {
        a = JSON.parse(body || "");
      } catch (e) {
        return { status: 400, body: { code: "BadRequest", message: `merge body is not JSON {db, coll, left, right}: ${e.message}` } };
      }
      const t = a && (await topologyOf(a.db, a.coll));
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${a && a.db}/${a && a.coll} not found` } };
      return merge(gw, t, a.db, a.coll, a.left, a.right);
    }
    const m = COLL_RE.exec(path);
    // A range id that no longer exists (split) is gone: 410 with substatus 1002, like the service
    // (or the substatus POST /_gateway/config set).
    const rangeHeader = h["x-ms-documentdb-partitionkeyrangeid"];
    if (m && rangeHeader !== undefined) {
      const t = await topologyOf(m[1], m[2]);
      if (t && !t.ranges.some(r => r.id === rangeHeader)) {
        return { status: 410, headers: { "x-ms-substatus": String(gw.goneSubStatus) }, body: { code: "Gone", message: `partition key range ${rangeHeader} is gone (split)` } };
      }
    }
    if (m && PKRANGES_RE.test(path)) {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      count("all", "pkranges");
      return pkrangesResponse(t, h, gw.pkrangesPageSize);
    }
    if (m && DOCS_RE.test(path) && isQuery) {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      return query(t, m[1], m[2], req, url, body);
    }
    if (m && PK_DELETE_RE.test(path) && req.method === "POST") {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      return deletePartitionKey(t, m[1], m[2], h);
    }
    if (m && DOCS_RE.test(path) && req.method === "POST" && isTrue(h["x-ms-cosmos-is-batch-request"])) {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      if (!isTrue(h["x-ms-cosmos-batch-atomic"])) {
        // Bulk: a non-atomic batch to one range (the gone check above answered a split range).
        const range = t.ranges.find(r => r.id === rangeHeader);
        if (!range) return { status: 400, body: { code: "BadRequest", message: "a non-atomic batch needs x-ms-documentdb-partitionkeyrangeid" } };
        count(range.id, "bulk");
        return bulk.runBulk(gw.bulk, stores[range.store], range, m[1], m[2], t.pkDef, body, t.log);
      }
      const p = parsePkHeader(String(h["x-ms-documentdb-partitionkey"] || ""));
      const e = p.error ? p : epkOf(p.values, t.pkDef);
      if (e.error) return { status: 400, body: { code: "BadRequest", message: e.error } };
      const range = rangeFor(t.ranges, e.epk);
      count(range.id, "batch");
      return runBatch(stores[range.store], m[1], m[2], t.pkDef, h, body, t.log);
    }
    if (m && DOCS_RE.test(path) && req.method === "GET" && h["a-im"] !== undefined) {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      let inScope;
      let counted;
      if (rangeHeader !== undefined) {
        const range = t.ranges.find(r => r.id === rangeHeader);
        const bounded = String(h["x-ms-read-key-type"] || "") === "EffectivePartitionKeyRange";
        inScope = changefeed.rangeScope(range, bounded ? String(h["x-ms-start-epk"] || "") : undefined, bounded ? String(h["x-ms-end-epk"] || "FF") : undefined);
        counted = range.id;
      } else if (typeof h["x-ms-documentdb-partitionkey"] === "string") {
        const p = parsePkHeader(h["x-ms-documentdb-partitionkey"]);
        const e = p.error ? p : epkOf(p.values, t.pkDef, { prefix: true });
        if (e.error) return { status: 400, body: { code: "BadRequest", message: e.error } };
        inScope = epk => epk === e.epk || (epk !== undefined && epk.startsWith(e.epk) && p.values.length < ((t.pkDef && t.pkDef.paths) || []).length);
        counted = rangeFor(t.ranges, e.epk).id;
      } else {
        return { status: 400, body: { code: "BadRequest", message: "a change feed through the test gateway needs x-ms-documentdb-partitionkeyrangeid or a partition key" } };
      }
      count(counted, "changefeed");
      return changefeed.serveChangeFeed(t.log, t.pkDef, h, inScope);
    }
    if (m && DOCS_RE.test(path) && req.method === "GET") {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      const range = t.ranges.find(r => r.id === rangeHeader);
      if (!range) return { status: 400, body: { code: "BadRequest", message: "a read feed through the test gateway needs x-ms-documentdb-partitionkeyrangeid" } };
      count(range.id, "feed");
      return dispatch(stores[range.store], { method: "GET", url, headers: h });
    }
    if (m && (DOC_RE.test(path) || (DOCS_RE.test(path) && req.method === "POST"))) {
      const t = await topologyOf(m[1], m[2]);
      if (!t) return { status: 404, body: { code: "NotFound", message: `collection ${m[1]}/${m[2]} not found` } };
      const text = h["x-ms-documentdb-partitionkey"];
      if (typeof text !== "string") {
        return { status: 400, body: { code: "BadRequest", message: "x-ms-documentdb-partitionkey header is required for point operations" } };
      }
      const p = parsePkHeader(text);
      const e = p.error ? p : epkOf(p.values, t.pkDef);
      if (e.error) return { status: 400, body: { code: "BadRequest", message: e.error } };
      const range = rangeFor(t.ranges, e.epk);
      count(range.id, "point");
      // The store answers 500 for a missing item unless the cross-partition header is present
      // (LOCAL_SERVER.md §1.4, 2:P8); the service answers 404.
      if (h["x-ms-documentdb-pre-trigger-include"] !== undefined || h["x-ms-documentdb-post-trigger-include"] !== undefined) {
        return withTriggers(t, m[1], m[2], req, url, path, h, body, { values: p.values, epk: e.epk, store: range.store });
      }
      return pointWrite(t, req.method, url, path, h, body, { values: p.values, epk: e.epk, store: range.store });
    }
    // Control plane (databases, collections, UDFs): fan writes to every store, answer with store 0's.
    return fanOut(req, h, body);
  }

  for (let i = 0; i < n; i++) stores.push(createStore(HOST, 0));
  gw.handle = handle;
  return gw;
}

function serve(opts) {
  const gw = createGateway(opts.partitions);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", c => chunks.push(c));
    req.on("end", async () => {
      let r;
      try {
        r = await gw.handle(req, chunks.length ? Buffer.concat(chunks).toString("utf8") : undefined);
      } catch (err) {
        r = { status: 500, body: { code: "InternalServerError", message: String(err && err.message) } };
      }
      res.statusCode = r.status;
      // Every answer costs 1 RU unless the handler said otherwise, as on the plain server
      // (its HTTP layer sets the header; in-process dispatch skips that layer).
      res.setHeader("x-ms-request-charge", "1");
      for (const [k, v] of Object.entries(r.headers || {})) res.setHeader(k, v);
      if (r.body !== undefined && r.status !== 304 && r.status !== 204) {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(r.body));
      } else res.end();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5000;
  server.listen(0, HOST, () => {
    gw.endpoint = `http://${HOST}:${server.address().port}/`;
    process.stdout.write(JSON.stringify({ http: gw.endpoint, partitions: opts.partitions }) + "\n");
  });
  const stop = () => { server.close(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (opts.stdinWatch) {
    process.stdin.on("end", stop);
    process.stdin.on("close", stop);
    process.stdin.resume();
  }
  return { gw, server };
}

if (require.main === module) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`gateway.js: ${e.message}\n`);
    process.exit(2);
  }
  serve(opts);
}

module.exports = { createGateway, parseArgs, serve };
