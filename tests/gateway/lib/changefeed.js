// A real per-range change feed (PROTOCOL.md §9), which the stores lack (their change feed is a
// stub, LOCAL_SERVER.md §1.7). Every write the gateway applies is appended to its collection's
// log with a collection-wide increasing LSN; a range's feed is the log filtered by EPK, so after
// a split each child serves the parent's history and a parent's etag stays valid on it.
//
// GET …/docs with `A-IM: Incremental Feed` (latest version) or `Full-Fidelity Feed` (all
// versions and deletes, `{current, metadata}` envelopes) reads one range
// (`x-ms-documentdb-partitionkeyrangeid`, optionally narrowed by `x-ms-start-epk`/`x-ms-end-epk`)
// or one partition key. `If-None-Match`: absent = from the beginning, `*` = from now, `"<lsn>"` =
// after that LSN; `If-Modified-Since` = writes at or after that time. 304 when nothing is new;
// otherwise 200 with up to `x-ms-max-item-count` changes and `etag: "<lsn of the last one>"`.
"use strict";

const { cmpEpk } = require("./topology");

/** A collection's change log. */
function createLog() {
  return { lsn: 0, entries: [], last: new Map() };
}

/**
 * Appends a write: `kind` is "write" (create, replace, upsert, patch) or "delete"; `doc` is the
 * item after the write (undefined for a delete).
 */
function record(log, kind, id, epk, pkValues, doc) {
  const key = `${epk}|${id}`;
  const prev = log.last.get(key);
  const live = prev !== undefined && !prev.deleted;
  const op = kind === "delete" ? "delete" : live ? "replace" : "create";
  log.lsn += 1;
  log.entries.push({ lsn: log.lsn, epk, id, op, doc, pkValues, crts: Math.floor(Date.now() / 1000), previous: live ? prev.lsn : undefined });
  log.last.set(key, { lsn: log.lsn, deleted: kind === "delete" });
}

/** The `{path: value}` form of a partition key in delete metadata. */
function pkObject(pkDef, values) {
  const out = {};
  ((pkDef && pkDef.paths) || []).forEach((p, i) => {
    if (values[i] !== undefined) out[p.slice(1)] = values[i];
  });
  return out;
}

function unquote(etag) {
  const s = String(etag).trim();
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * Serves a change-feed request. `inScope(epk)` says whether a change belongs to the requested
 * range or partition key. Returns `{status, headers, body}`.
 */
function serveChangeFeed(log, pkDef, headers, inScope) {
  const aim = String(headers["a-im"] || "");
  const full = /full-fidelity/i.test(aim);
  if (!full && !/incremental/i.test(aim)) {
    return { status: 400, body: { code: "BadRequest", message: `unknown A-IM ${aim}` } };
  }
  const inm = headers["if-none-match"];
  let after = 0;
  if (inm !== undefined) {
    if (String(inm).trim() === "*") {
      return { status: 304, headers: { etag: `"${log.lsn}"` } };
    }
    after = Number(unquote(inm));
    if (!Number.isInteger(after) || after < 0) {
      return { status: 400, body: { code: "BadRequest", message: `If-None-Match ${inm} is not a change-feed etag of this gateway` } };
    }
  }
  let since;
  if (headers["if-modified-since"] !== undefined) {
    since = Date.parse(String(headers["if-modified-since"]));
    if (Number.isNaN(since)) return { status: 400, body: { code: "BadRequest", message: "If-Modified-Since is not an HTTP date" } };
    since = Math.floor(since / 1000);
  }
  let changes = log.entries.filter(e => e.lsn > after && inScope(e.epk) && (since === undefined || e.crts >= since));
  if (!full) {
    // Latest version: the last write of each item, deletes invisible, in LSN order.
    const latest = new Map();
    for (const e of changes) latest.set(`${e.epk}|${e.id}`, e);
    changes = [...latest.values()].filter(e => e.op !== "delete").sort((a, b) => a.lsn - b.lsn);
  }
  if (changes.length === 0) return { status: 304, headers: { etag: `"${after > 0 ? after : 0}"` } };
  const max = Number(headers["x-ms-max-item-count"] || -1);
  const page = max > 0 ? changes.slice(0, max) : changes;
  const docs = page.map(e => {
    if (!full) return { ...e.doc, _lsn: e.lsn };
    const metadata = { operationType: e.op, lsn: e.lsn, crts: e.crts };
    if (e.previous !== undefined) metadata.previousImageLSN = e.previous;
    if (e.op === "delete") {
      metadata.timeToLiveExpired = false;
      metadata.id = e.id;
      metadata.partitionKey = pkObject(pkDef, e.pkValues);
      return { metadata };
    }
    return { current: { ...e.doc, _lsn: e.lsn }, metadata };
  });
  const last = page[page.length - 1].lsn;
  return {
    status: 200,
    headers: { etag: `"${last}"`, "x-ms-item-count": String(docs.length) },
    body: { _rid: "", Documents: docs, _count: docs.length }
  };
}

/** `inScope` for a range `[min, max)` (optionally narrowed to `[start, end)`). */
function rangeScope(range, start, end) {
  const lo = start !== undefined && cmpEpk(start, range.minInclusive) > 0 ? start : range.minInclusive;
  const hi = end !== undefined && cmpEpk(end, range.maxExclusive) < 0 ? end : range.maxExclusive;
  return epk => cmpEpk(lo, epk) <= 0 && cmpEpk(epk, hi) < 0;
}

module.exports = { createLog, record, serveChangeFeed, rangeScope };
