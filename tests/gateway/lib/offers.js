// Throughput offers (PROTOCOL.md §10.1), which the plain server has no routes for: an offer per
// database or container created with throughput (and per container created without it in a
// database without shared throughput, at the service's default 400 RU/s), the `/offers` feed
// and query, read and replace by rid, manual <-> autoscale migration (REST "Replace an Offer"
// examples 3 and 4), and a pending scale that a test can ask for: with
// `POST /_gateway/config {"offerPendingReads": N}`, a replace answers 202 with
// `x-ms-offer-replace-pending: true` and the next N-1 reads of that offer still show the old
// content as pending, then the new content.
"use strict";

const OFFER_RE = /^\/offers\/([^/]+)$/i;
const DEFAULT_CONTAINER_RU = 400;

/** The offers state of one gateway. */
function createOffers() {
  return { byRid: new Map(), next: 1, pendingReads: 0, log: [] };
}

function bad(message) {
  return { status: 400, body: { code: "BadRequest", message } };
}

function minThroughput(offer) {
  return offer.content.offerAutopilotSettings ? 1000 : 400;
}

function withHeaders(offer, extra) {
  return { "x-ms-cosmos-min-throughput": String(minThroughput(offer)), ...extra };
}

/** Parses the creation headers; returns {content} or {error} or {} (none asked for). */
function creationContent(h) {
  const manual = h["x-ms-offer-throughput"];
  const auto = h["x-ms-cosmos-offer-autopilot-settings"];
  if (manual !== undefined && auto !== undefined) return { error: "x-ms-offer-throughput and x-ms-cosmos-offer-autopilot-settings cannot both be set" };
  if (manual !== undefined) {
    const n = Number(manual);
    if (!Number.isInteger(n) || n < 400 || n % 100 !== 0) return { error: `x-ms-offer-throughput ${manual} must be a multiple of 100 of at least 400` };
    return { content: { offerThroughput: n } };
  }
  if (auto !== undefined) {
    let s;
    try {
      s = JSON.parse(auto);
    } catch (e) {
      return { error: `x-ms-cosmos-offer-autopilot-settings is not JSON: ${e.message}` };
    }
    const max = s && s.maxThroughput;
    if (!Number.isInteger(max) || max < 1000 || max % 1000 !== 0) return { error: `autoscale maxThroughput ${max} must be a multiple of 1000 of at least 1000` };
    return { content: { offerThroughput: max / 10, offerAutopilotSettings: s } };
  }
  return {};
}

/** Records the offer of a resource just created (`resource` is the created body). */
function created(o, resource, content, dbRid) {
  const rid = `Of${String(o.next++).padStart(2, "0")}`;
  const link = dbRid ? `dbs/${dbRid}/colls/${resource._rid}/` : `dbs/${resource._rid}/`;
  o.byRid.set(rid, {
    offer: {
      id: rid, _rid: rid, _self: `offers/${rid}/`, _etag: `"${rid}-1"`, _ts: Math.floor(Date.now() / 1000),
      offerVersion: "V2", offerType: "Invalid", resource: link, offerResourceId: resource._rid, content
    },
    pending: undefined
  });
}

/** Drops the offers of a deleted database (and its containers) or container, by rid. */
function removedResource(o, resourceRid) {
  for (const [rid, e] of o.byRid) {
    if (e.offer.offerResourceId === resourceRid || e.offer.resource.startsWith(`dbs/${resourceRid}/`)) o.byRid.delete(rid);
  }
}

function hasOffer(o, resourceRid) {
  for (const e of o.byRid.values()) if (e.offer.offerResourceId === resourceRid) return true;
  return false;
}

/** The offer as a read shows it now (a pending scale shows the old content). */
function visible(e, reading) {
  if (!e.pending) return { offer: e.offer, pending: false };
  if (reading) {
    e.pending.reads--;
    if (e.pending.reads <= 0) {
      e.offer = e.pending.next;
      e.pending = undefined;
      return { offer: e.offer, pending: false };
    }
  }
  return { offer: e.offer, pending: true };
}

/** The new content of a replace, or {error}. */
function replacedContent(current, body, h) {
  const c = body && body.content;
  if (!c || typeof c !== "object") return { error: "an offer replace needs a content object" };
  const toAuto = String(h["x-ms-cosmos-migrate-offer-to-autopilot"] || "").toLowerCase() === "true";
  const toManual = String(h["x-ms-cosmos-migrate-offer-to-manual-throughput"] || "").toLowerCase() === "true";
  const isAuto = !!current.content.offerAutopilotSettings;
  if (toAuto) {
    if (isAuto) return { error: "the offer is already autoscale" };
    // The service picks the maximum from the current RU/s (REST reference, example 3).
    const max = Math.max(4000, Math.ceil((current.content.offerThroughput * 10) / 1000) * 1000);
    return { content: { offerThroughput: max / 10, offerAutopilotSettings: { maxThroughput: max } } };
  }
  if (toManual) {
    if (!isAuto) return { error: "the offer is already manual" };
    return { content: { offerThroughput: current.content.offerAutopilotSettings.maxThroughput } };
  }
  if (c.offerAutopilotSettings) {
    if (!isAuto) return { error: "changing a manual offer to autoscale needs x-ms-cosmos-migrate-offer-to-autopilot" };
    const max = c.offerAutopilotSettings.maxThroughput;
    if (!Number.isInteger(max) || max < 1000 || max % 1000 !== 0) return { error: `autoscale maxThroughput ${max} must be a multiple of 1000 of at least 1000` };
    return { content: { offerThroughput: max / 10, offerAutopilotSettings: c.offerAutopilotSettings } };
  }
  if (isAuto) return { error: "changing an autoscale offer to manual needs x-ms-cosmos-migrate-offer-to-manual-throughput" };
  const n = c.offerThroughput;
  if (!Number.isInteger(n) || n < 400 || n % 100 !== 0) return { error: `offerThroughput ${n} must be a multiple of 100 of at least 400` };
  return { content: { offerThroughput: n } };
}

/** The first parameter value of a query body, and which field it filters. */
function queryFilter(body) {
  let q;
  try {
    q = JSON.parse(body || "");
  } catch (e) {
    return { error: `query body is not JSON: ${e.message}` };
  }
  const text = String(q.query || "");
  const param = (q.parameters || [])[0];
  if (/offerResourceId/.test(text) && param) return { field: "offerResourceId", value: param.value };
  if (/\.resource\s*=/.test(text) && param) return { field: "resource", value: param.value };
  if (!/WHERE/i.test(text)) return { field: undefined };
  return { error: `the test gateway answers offer queries by offerResourceId or resource only: ${text}` };
}

/** Handles `/offers…`; undefined when `path` is not an offers path. */
function handle(o, method, path, h, body) {
  if (path === "/offers") {
    const all = [...o.byRid.values()].map(e => visible(e, false).offer);
    if (method === "GET") return { status: 200, body: { _rid: "", Offers: all, _count: all.length } };
    if (method === "POST") {
      const f = queryFilter(body);
      if (f.error) return bad(f.error);
      // `resource` filters compare the SDKs' `_self` links, with or without a trailing slash.
      const norm = v => String(v).replace(/^\/+|\/+$/g, "");
      const hits = f.field === undefined ? all : all.filter(x => norm(x[f.field]) === norm(f.value));
      o.log.push({ op: "query", field: f.field, value: f.value });
      return { status: 200, body: { _rid: "", Offers: hits, _count: hits.length } };
    }
    return bad(`${method} /offers is not supported`);
  }
  const m = OFFER_RE.exec(path);
  if (!m) return undefined;
  const e = o.byRid.get(decodeURIComponent(m[1]));
  if (!e) return { status: 404, body: { code: "NotFound", message: `offer ${m[1]} not found` } };
  if (method === "GET") {
    const v = visible(e, true);
    o.log.push({ op: "read", rid: e.offer._rid, pending: v.pending });
    return { status: 200, headers: withHeaders(v.offer, v.pending ? { "x-ms-offer-replace-pending": "true" } : {}), body: v.offer };
  }
  if (method === "PUT") {
    let b;
    try {
      b = JSON.parse(body || "");
    } catch (err) {
      return bad(`offer body is not JSON: ${err.message}`);
    }
    if (b._rid !== e.offer._rid || b.offerResourceId !== e.offer.offerResourceId) return bad("the offer body's _rid and offerResourceId must be the offer's own");
    if (e.pending) return { status: 409, body: { code: "Conflict", message: "a previous throughput change is still pending" } };
    const r = replacedContent(e.offer, b, h);
    if (r.error) return bad(r.error);
    const etagN = Number(String(e.offer._etag).split("-")[1] || "1") + 1;
    const next = { ...e.offer, content: r.content, _etag: `"${e.offer._rid}-${etagN}"` };
    o.log.push({ op: "replace", rid: e.offer._rid, content: r.content, migrate: !!(h["x-ms-cosmos-migrate-offer-to-autopilot"] || h["x-ms-cosmos-migrate-offer-to-manual-throughput"]) });
    if (o.pendingReads > 0) {
      e.pending = { next, reads: o.pendingReads };
      return { status: 202, headers: withHeaders(e.offer, { "x-ms-offer-replace-pending": "true" }), body: e.offer };
    }
    e.offer = next;
    return { status: 200, headers: withHeaders(next, {}), body: next };
  }
  return bad(`${method} on an offer is not supported`);
}

module.exports = { createOffers, creationContent, created, removedResource, hasOffer, handle, DEFAULT_CONTAINER_RU };
