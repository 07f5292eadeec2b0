// Non-atomic (bulk) batches with the service's semantics (PROTOCOL.md §8.3): the request
// targets a partition key range (`x-ms-documentdb-partitionkeyrangeid`), every operation
// carries its own `partitionKey` (a JSON-encoded string) and succeeds or fails alone; an
// operation whose key the range does not hold answers 410/1002. Throttling is injected per
// operation (POST /_gateway/config {"bulkThrottleRate", "bulkRetryAfterMs", "bulkSeed"}) from a
// seeded generator, so a run is reproducible; a throttled operation is not applied.
"use strict";

const { runOne, parseBatchBody } = require("./batch");
const { epkOf, parsePkHeader } = require("./routing");
const { cmpEpk } = require("./topology");
const { record } = require("./changefeed");

/** mulberry32: a small seeded PRNG (the gateway must not depend on Math.random for faults). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per-gateway bulk state: fault settings and what was applied. */
function createBulkState() {
  return { throttleRate: 0, retryAfterMs: 10, random: prng(1), applied: 0, throttled: 0, requests: 0, byId: new Map() };
}

/** Applies `{bulkThrottleRate, bulkRetryAfterMs, bulkSeed}` from a config body; returns an error text or undefined. */
function configure(state, c) {
  if (c.bulkThrottleRate !== undefined) {
    if (typeof c.bulkThrottleRate !== "number" || c.bulkThrottleRate < 0 || c.bulkThrottleRate >= 1) return "bulkThrottleRate must be a number in [0, 1)";
    state.throttleRate = c.bulkThrottleRate;
  }
  if (c.bulkRetryAfterMs !== undefined) {
    if (!Number.isInteger(c.bulkRetryAfterMs) || c.bulkRetryAfterMs < 0) return "bulkRetryAfterMs must be an integer >= 0";
    state.retryAfterMs = c.bulkRetryAfterMs;
  }
  if (c.bulkSeed !== undefined) {
    if (!Number.isInteger(c.bulkSeed)) return "bulkSeed must be an integer";
    state.random = prng(c.bulkSeed);
  }
  return undefined;
}

/** What bulk requests did: applied writes, how often each id was written, throttled operations. */
function report(state) {
  let duplicated = 0;
  for (const n of state.byId.values()) if (n > 1) duplicated++;
  return { requests: state.requests, applied: state.applied, throttled: state.throttled, distinctIds: state.byId.size, duplicated };
}

function reset(state) {
  state.applied = 0;
  state.throttled = 0;
  state.requests = 0;
  state.byId = new Map();
}

const WRITES = new Set(["Create", "Upsert", "Replace", "Delete", "Patch"]);

/**
 * Runs a bulk batch request (`body`: JSON text) against range `range` (`{minInclusive,
 * maxExclusive, store}`) of `db`/`coll`. Returns `{status, headers, body}`.
 */
async function runBulk(state, store, range, db, coll, pkDef, body, log) {
  state.requests++;
  const parsed = parseBatchBody(body);
  if (parsed.error) return parsed.error;
  const ops = parsed.ops;
  const docsUrl = `/dbs/${db}/colls/${coll}/docs`;
  const results = [];
  let charge = 0;
  for (const op of ops) {
    const o = op || {};
    if (typeof o.partitionKey !== "string") {
      results.push({ statusCode: 400, requestCharge: 0, message: "a bulk operation needs partitionKey (a JSON-encoded string)" });
      continue;
    }
    const p = parsePkHeader(o.partitionKey);
    const e = p.error ? p : epkOf(p.values, pkDef);
    if (e.error) {
      results.push({ statusCode: 400, requestCharge: 0, message: e.error });
      continue;
    }
    if (cmpEpk(range.minInclusive, e.epk) > 0 || cmpEpk(e.epk, range.maxExclusive) >= 0) {
      results.push({ statusCode: 410, subStatusCode: 1002, requestCharge: 0, message: "the operation's partition key is not in this range" });
      continue;
    }
    if (state.throttleRate > 0 && state.random() < state.throttleRate) {
      state.throttled++;
      results.push({ statusCode: 429, subStatusCode: 3200, requestCharge: 0, retryAfterMilliseconds: state.retryAfterMs });
      continue;
    }
    const onApplied = (kind, id, doc) => log && record(log, kind, id, e.epk, p.values, doc);
    const r = await runOne(store, docsUrl, o.partitionKey, pkDef, e.epk, o, onApplied);
    if (r.statusCode < 400 && WRITES.has(o.operationType)) {
      state.applied++;
      const id = o.id !== undefined ? o.id : o.resourceBody && o.resourceBody.id;
      state.byId.set(id, (state.byId.get(id) || 0) + 1);
    }
    charge += r.requestCharge || 0;
    results.push(r);
  }
  // Non-atomic: 200 with per-operation statuses (the service uses 207 only for atomic failures).
  return { status: 200, headers: { "x-ms-request-charge": String(charge) }, body: results };
}

module.exports = { createBulkState, configure, report, reset, runBulk };
