#!/usr/bin/env node
// Recording loopback server for the wire-conformance test (tests/tests/wire_conformance.rs).
//
// It records every request (method, path, query string, every header in the order sent, body)
// and answers canned but valid Cosmos DB responses, so that the official JS SDK and Sextant both
// proceed through each operation. It keeps no data: every answer is built from the request's
// path and body by the tables below.
//
// Usage: node tests/gateway/capture/recorder.js
// Output: exactly one JSON line once listening: {"port":N,"http":"http://127.0.0.1:N/"}
// Exits when stdin closes, or on SIGTERM/SIGINT.
//
// Admin routes (not recorded): GET /_rec/log (the recorded requests, JSON array),
// POST /_rec/reset (clears the log; 204).
"use strict";

const http = require("http");

const HOST = "127.0.0.1";

/** Feed property of a list or query answer, per resource type (path token). */
const FEED_KEYS = {
  dbs: "Databases",
  colls: "DocumentCollections",
  docs: "Documents",
  users: "Users",
  permissions: "Permissions",
  sprocs: "StoredProcedures",
  udfs: "UserDefinedFunctions",
  triggers: "Triggers",
  offers: "Offers",
  pkranges: "PartitionKeyRanges",
  conflicts: "Conflicts"
};

/** A fixed RID per resource type (name-based paths are answered with these, like the service). */
const RIDS = {
  dbs: "AbCdAA==",
  colls: "AbCdAKN4a4E=",
  docs: "AbCdAKN4a4EBAAAAAAAAAA==",
  users: "AbCdAOz4OQA=",
  permissions: "AbCdAOz4OQCyqfSgP0gbAA==",
  sprocs: "AbCdAKN4a4EBAAAAAAAAgA==",
  udfs: "AbCdAKN4a4EBAAAAAAAAYA==",
  triggers: "AbCdAKN4a4EBAAAAAAAAcA==",
  offers: "OfFr",
  pkranges: "AbCdAKN4a4ECAAAAAAAAUA=="
};
const DB_SELF = `dbs/${RIDS.dbs}/`;
const COLL_SELF = `${DB_SELF}colls/${RIDS.colls}/`;
/** `_self` of a resource of each type (parents are the fixed database and container). */
const SELF = {
  dbs: () => DB_SELF,
  colls: () => COLL_SELF,
  docs: () => `${COLL_SELF}docs/${RIDS.docs}/`,
  users: () => `${DB_SELF}users/${RIDS.users}/`,
  permissions: () => `${DB_SELF}users/${RIDS.users}/permissions/${RIDS.permissions}/`,
  sprocs: () => `${COLL_SELF}sprocs/${RIDS.sprocs}/`,
  udfs: () => `${COLL_SELF}udfs/${RIDS.udfs}/`,
  triggers: () => `${COLL_SELF}triggers/${RIDS.triggers}/`,
  offers: () => `offers/${RIDS.offers}/`,
  pkranges: () => `${COLL_SELF}pkranges/${RIDS.pkranges}/`
};
const ETAG = '"00000000-0000-0000-0000-000000000001"';
const TS = 1700000000;

/** The fields a resource of each type has besides the system properties, given its id. */
const DEFAULTS = {
  dbs: () => ({ _colls: "colls/", _users: "users/" }),
  colls: () => ({
    partitionKey: { paths: ["/pk"], kind: "Hash", version: 2 },
    indexingPolicy: { indexingMode: "consistent", automatic: true, includedPaths: [{ path: "/*" }], excludedPaths: [{ path: "/\"_etag\"/?" }] },
    conflictResolutionPolicy: { mode: "LastWriterWins", conflictResolutionPath: "/_ts", conflictResolutionProcedure: "" },
    geospatialConfig: { type: "Geography" },
    _docs: "docs/",
    _sprocs: "sprocs/",
    _triggers: "triggers/",
    _udfs: "udfs/",
    _conflicts: "conflicts/"
  }),
  docs: () => ({ pk: "pk1", n: 1, _attachments: "attachments/" }),
  users: () => ({ _permissions: "permissions/" }),
  permissions: () => ({
    permissionMode: "Read",
    resource: COLL_SELF.replace(/\/$/, ""),
    _token: "type=resource&ver=1.0&sig=recorder-canned-token;canned;"
  }),
  sprocs: () => ({ body: "function () { getContext().getResponse().setBody('ok'); }" }),
  udfs: () => ({ body: "function (x) { return x; }" }),
  triggers: () => ({ body: "function () {}", triggerType: "Pre", triggerOperation: "Create" }),
  offers: () => offerDocument(),
  pkranges: () => ({ minInclusive: "", maxExclusive: "FF", ridPrefix: 0, throughputFraction: 1, status: "online", parents: [] })
};

/**
 * The plan of a query without ORDER BY, aggregates, DISTINCT, TOP, OFFSET or GROUP BY over the
 * whole key space (PROTOCOL.md §7.3): what the service answers for the queries recorded here.
 */
const QUERY_PLAN = {
  partitionedQueryExecutionInfoVersion: 2,
  queryInfo: {
    distinctType: "None",
    top: null,
    offset: null,
    limit: null,
    orderBy: [],
    orderByExpressions: [],
    groupByExpressions: [],
    groupByAliases: [],
    aggregates: [],
    groupByAliasToAggregateType: {},
    rewrittenQuery: "",
    hasSelectValue: false,
    dCountInfo: null,
    hasNonStreamingOrderBy: false
  },
  queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }]
};

/** A V2 offer for the fixed container (PROTOCOL.md §10.1). */
function offerDocument() {
  return {
    offerVersion: "V2",
    offerType: "Invalid",
    resource: COLL_SELF,
    offerResourceId: RIDS.colls,
    content: { offerThroughput: 400, offerIsRUPerMinuteThroughputEnabled: false }
  };
}

/** A whole resource of `type` named `id`, with `body` (a create/replace payload) on top. */
function resource(type, id, body) {
  const base = DEFAULTS[type] ? DEFAULTS[type]() : {};
  const doc = { id, ...base, ...(body && typeof body === "object" && !Array.isArray(body) ? body : {}) };
  if (type === "offers") doc.id = RIDS.offers;
  if (type === "pkranges") doc.id = "0";
  return { ...doc, _rid: RIDS[type] || "AAAAAA==", _self: SELF[type] ? SELF[type]() : "", _etag: ETAG, _ts: TS };
}

/** The account document; every location points back at this recorder. */
function account(endpoint) {
  const locations = [{ name: "Local", databaseAccountEndpoint: endpoint }];
  return {
    _self: "",
    id: "recorder",
    _rid: "recorder.documents.azure.com",
    media: "//media/",
    addresses: "//addresses/",
    _dbs: "//dbs/",
    writableLocations: locations,
    readableLocations: locations,
    enableMultipleWriteLocations: false,
    userReplicationPolicy: { asyncReplication: false, minReplicaSetSize: 3, maxReplicasetSize: 4 },
    userConsistencyPolicy: { defaultConsistencyLevel: "Session" },
    systemReplicationPolicy: { minReplicaSetSize: 3, maxReplicasetSize: 4 },
    readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
    queryEngineConfiguration: JSON.stringify({ maxSqlQueryInputLength: 262144, maxJoinsPerSqlQuery: 5, queryMaxInMemorySortDocumentCount: 500, sqlAllowAggregateFunctions: true, sqlAllowSubQuery: true, sqlAllowTop: true })
  };
}

const isTrue = v => typeof v === "string" && v.toLowerCase() === "true";

function parseJson(text) {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    return undefined;
  }
}

/** One operation's answer in a transactional batch (PROTOCOL.md §8.2). */
function batchResult(op) {
  const created = { Create: 201, Upsert: 200, Replace: 200, Read: 200, Patch: 200, Delete: 204 }[op.operationType] || 200;
  const r = { statusCode: created, requestCharge: 1, eTag: ETAG };
  if (op.operationType !== "Delete") r.resourceBody = resource("docs", op.id || (op.resourceBody && op.resourceBody.id) || "item1", op.resourceBody);
  return r;
}

/**
 * The canned answer to one request: {status, headers?, body?}. Paths are split into segments;
 * an odd count is a feed of the last segment's type, an even count one resource of the
 * second-to-last segment's type (PROTOCOL.md §1).
 */
function answer(req, path, text, endpoint) {
  const h = req.headers;
  const body = parseJson(text);
  const segs = path.split("/").filter(s => s !== "").map(s => decodeURIComponent(s));
  if (segs.length === 0) {
    return req.method === "GET" ? { status: 200, body: account(endpoint) } : { status: 405, body: { code: "MethodNotAllowed", message: "recorder: only GET /" } };
  }
  const feed = segs.length % 2 === 1;
  const type = feed ? segs[segs.length - 1] : segs[segs.length - 2];
  if (type === "operations" && segs[segs.length - 1] === "partitionkeydelete" && req.method === "POST") {
    // Delete every item of a partition key: accepted, done in the background by the service.
    return { status: 200 };
  }
  if (!FEED_KEYS[type]) {
    return { status: 400, body: { code: "BadRequest", message: `recorder: unknown resource type ${type} in ${path}` } };
  }
  const isQuery = req.method === "POST" && (isTrue(h["x-ms-documentdb-isquery"]) || String(h["content-type"] || "").startsWith("application/query+json"));
  if (feed) {
    if (isTrue(h["x-ms-cosmos-is-query-plan-request"])) return { status: 200, body: QUERY_PLAN };
    if (isQuery || req.method === "GET") {
      const one = type === "docs" ? resource("docs", "item1") : resource(type, `${type}1`);
      return { status: 200, headers: { "x-ms-item-count": "1" }, body: { _rid: RIDS.colls, [FEED_KEYS[type]]: [one], _count: 1 } };
    }
    if (req.method === "POST" && type === "docs" && isTrue(h["x-ms-cosmos-is-batch-request"])) {
      return { status: 200, body: (Array.isArray(body) ? body : []).map(batchResult) };
    }
    if (req.method === "POST") {
      const upsert = isTrue(h["x-ms-documentdb-is-upsert"]);
      return { status: upsert ? 200 : 201, body: resource(type, body && body.id, body) };
    }
    return { status: 405, body: { code: "MethodNotAllowed", message: `recorder: ${req.method} on a feed` } };
  }
  const id = segs[segs.length - 1];
  switch (req.method) {
    case "GET":
      return { status: 200, body: resource(type, id) };
    case "PUT":
      return { status: 200, body: resource(type, id, body) };
    case "PATCH":
      return { status: 200, body: resource(type, id) };
    case "DELETE":
      return { status: 204 };
    case "POST":
      if (type === "sprocs") {
        // Executing a stored procedure: the body is the script's response body.
        return { status: 200, headers: { "x-ms-documentdb-script-log-results": encodeURIComponent("recorder log") }, body: { ok: true, args: body } };
      }
      break;
  }
  return { status: 405, body: { code: "MethodNotAllowed", message: `recorder: ${req.method} ${path}` } };
}

function serve() {
  let log = [];
  let endpoint = "";
  let activity = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", c => chunks.push(c));
    req.on("end", () => {
      const text = chunks.length ? Buffer.concat(chunks).toString("utf8") : "";
      const q = req.url.indexOf("?");
      const path = q < 0 ? req.url : req.url.slice(0, q);
      const query = q < 0 ? "" : req.url.slice(q + 1);
      let r;
      if (path === "/_rec/log" && req.method === "GET") r = { status: 200, body: log };
      else if (path === "/_rec/reset" && req.method === "POST") {
        log = [];
        r = { status: 204 };
      } else {
        const headers = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
        log.push({ method: req.method, path, query, headers, body: text });
        try {
          r = answer(req, path, text, endpoint);
        } catch (e) {
          r = { status: 500, body: { code: "InternalServerError", message: `recorder: ${e && e.message}` } };
        }
      }
      res.statusCode = r.status;
      res.setHeader("x-ms-request-charge", "1");
      res.setHeader("x-ms-activity-id", `00000000-0000-0000-0000-${String(++activity).padStart(12, "0")}`);
      if (r.status < 300) res.setHeader("etag", ETAG);
      for (const [k, v] of Object.entries(r.headers || {})) res.setHeader(k, v);
      if (r.body !== undefined && r.status !== 204 && r.status !== 304) {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(r.body));
      } else res.end();
    });
  });
  server.listen(0, HOST, () => {
    const port = server.address().port;
    endpoint = `http://${HOST}:${port}/`;
    process.stdout.write(JSON.stringify({ port, http: endpoint }) + "\n");
  });
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  return server;
}

if (require.main === module) serve();

module.exports = { serve, answer };
