// Transactional batch with the service's semantics (PROTOCOL.md §8.2), which the stores lack
// (LOCAL_SERVER.md §1.6: not atomic, always 200, no Patch, per-op partitionKey required):
// each operation runs as its own request on the range's store with the batch's partition key;
// on the first failure the store is restored to its state before the batch and the answer is
// 207 with the failing operation's status and 424 for every other one. Limits: 100 operations
// and 2 MB, like the service.
"use strict";

const { dispatch } = require("./store");
const { epkOf, parsePkHeader } = require("./routing");
const { pkValuesOf } = require("./admin");
const { record } = require("./changefeed");

const MAX_OPERATIONS = 100;
const MAX_BYTES = 2 * 1024 * 1024;

/** Copies what a rollback restores (the store's maps are replaced, never mutated in place). */
function snapshot(items) {
  return { data: new Map(items._data), index: new Map(items._index), ridCount: items._ridCount };
}

function restore(items, s) {
  items._data = s.data;
  items._index = s.index;
  items._ridCount = s.ridCount;
}

/**
 * Runs one batch operation as a request on the store; resolves to its batch result element.
 * `onApplied(kind, id, doc)` hears each applied write ("write" or "delete"), for the change log.
 */
async function runOne(store, docsUrl, pkHeader, pkDef, headerEpk, op, onApplied) {
  const h = { "x-ms-documentdb-partitionkey": pkHeader };
  if (op.ifMatch) h["if-match"] = op.ifMatch;
  const url = id => `${docsUrl}/${encodeURIComponent(id)}`;
  const body = op.resourceBody === undefined ? undefined : JSON.stringify(op.resourceBody);
  // An item body must belong to the batch's partition key (the service answers 400).
  if (["Create", "Upsert", "Replace"].includes(op.operationType)) {
    const { epk } = epkOf(pkValuesOf(op.resourceBody || {}, pkDef), pkDef);
    if (epk !== headerEpk) return { statusCode: 400, requestCharge: 1, message: "the item's partition key differs from the batch's" };
  }
  let r;
  switch (op.operationType) {
    case "Create":
      r = await dispatch(store, { method: "POST", url: docsUrl, headers: h, body });
      break;
    case "Upsert":
      r = await dispatch(store, { method: "POST", url: docsUrl, headers: { ...h, "x-ms-documentdb-is-upsert": "True" }, body });
      break;
    case "Read":
      // The cross-partition header avoids the store's 500 on a missing item (LOCAL_SERVER.md §1.4).
      r = await dispatch(store, { method: "GET", url: url(op.id), headers: { ...h, "x-ms-documentdb-query-enablecrosspartition": "True" } });
      break;
    case "Replace":
      r = await dispatch(store, { method: "PUT", url: url(op.id), headers: h, body });
      break;
    case "Delete":
      r = await dispatch(store, { method: "DELETE", url: url(op.id), headers: h });
      break;
    case "Patch":
      r = await dispatch(store, { method: "PATCH", url: url(op.id), headers: h, body });
      break;
    default:
      return { statusCode: 400, requestCharge: 0, message: `unknown operationType ${op.operationType}` };
  }
  const out = { statusCode: r.status, requestCharge: 1 };
  if (r.status < 400 && onApplied && op.operationType !== "Read") {
    const id = op.id !== undefined ? op.id : r.body && r.body.id;
    onApplied(op.operationType === "Delete" ? "delete" : "write", id, r.body);
  }
  if (r.status < 400) {
    if (r.body && r.body._etag) out.eTag = r.body._etag;
    if (r.body && op.operationType !== "Delete") out.resourceBody = r.body;
  } else if (r.body && r.body.message) out.message = r.body.message;
  return out;
}

/**
 * Checks a batch body (atomic or bulk) against the service's limits: at most 2 MB, a JSON
 * array of 1 to 100 operations. Returns `{ops}` or `{error: response}`.
 */
function parseBatchBody(body) {
  if (Buffer.byteLength(body || "", "utf8") > MAX_BYTES) {
    return { error: { status: 413, body: { code: "RequestEntityTooLarge", message: `Request size is too large (over ${MAX_BYTES} bytes)` } } };
  }
  let ops;
  try {
    ops = JSON.parse(body || "");
  } catch (e) {
    return { error: { status: 400, body: { code: "BadRequest", message: `batch body is not JSON: ${e.message}` } } };
  }
  if (!Array.isArray(ops) || ops.length === 0) return { error: { status: 400, body: { code: "BadRequest", message: "a batch body is a non-empty JSON array" } } };
  if (ops.length > MAX_OPERATIONS) {
    return { error: { status: 400, body: { code: "BadRequest", message: `Batch request has more operations (${ops.length}) than the ${MAX_OPERATIONS} supported` } } };
  }
  return { ops };
}

/**
 * Runs an atomic batch request (`body`: the JSON text) against `store` for collection
 * `db`/`coll` with partition key definition `pkDef`. Returns `{status, headers, body}`.
 */
async function runBatch(store, db, coll, pkDef, headers, body, log) {
  const parsed = parseBatchBody(body);
  if (parsed.error) return parsed.error;
  const ops = parsed.ops;
  const pkHeader = headers["x-ms-documentdb-partitionkey"];
  const p = parsePkHeader(String(pkHeader || ""));
  const e = p.error ? p : epkOf(p.values, pkDef);
  if (e.error) return { status: 400, body: { code: "BadRequest", message: `a transactional batch needs x-ms-documentdb-partitionkey: ${e.error}` } };
  const items = store.database(db).collection(coll).documents;
  const before = snapshot(items);
  const docsUrl = `/dbs/${db}/colls/${coll}/docs`;
  const results = [];
  // Writes reach the change log only if the whole batch commits.
  const applied = [];
  const onApplied = (kind, id, doc) => applied.push([kind, id, doc]);
  for (const op of ops) {
    const r = await runOne(store, docsUrl, pkHeader, pkDef, e.epk, op || {}, onApplied);
    results.push(r);
    if (r.statusCode >= 400) {
      restore(items, before);
      const failed = results.length - 1;
      const out = ops.map((_, i) => (i === failed ? r : { statusCode: 424, requestCharge: 0 }));
      return { status: 207, headers: { "x-ms-request-charge": String(results.length) }, body: out };
    }
  }
  if (log) for (const [kind, id, doc] of applied) record(log, kind, id, e.epk, p.values, doc);
  return { status: 200, headers: { "x-ms-request-charge": String(results.length) }, body: results };
}

module.exports = { runBatch, runOne, parseBatchBody, MAX_OPERATIONS, MAX_BYTES };
