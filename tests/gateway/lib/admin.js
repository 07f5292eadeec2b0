// Admin hooks the driver never calls (under /_gateway/): splitting and merging ranges.
"use strict";

const { createStore, dispatch } = require("./store");
const { epkOf } = require("./routing");

// V2 EPKs lie in [0, 2^126) (see topology.js `boundary`); "" and "FF" are the outer bounds.
const SPACE = 1n << 126n;
const toBig = epk => (epk === "" ? 0n : epk.toUpperCase() === "FF" ? SPACE : BigInt(`0x${epk}`));
const toEpk = v => v.toString(16).toUpperCase().padStart(32, "0");

/** The partition key values of `doc` for `pkDef` (missing → undefined, as the SDK hashes it). */
function pkValuesOf(doc, pkDef) {
  return ((pkDef && pkDef.paths) || []).map(p =>
    p.slice(1).split("/").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), doc));
}

/**
 * Splits range `rangeId` of `db`/`coll` in two at its EPK midpoint. The left child keeps the
 * parent's store; the right child gets a new store, and the parent's documents at or above the
 * midpoint move there **keeping `_rid`**, so store continuation tokens (based on `_rid`,
 * LOCAL_SERVER.md §2 "Splits keep working continuations") stay valid on the children.
 * Returns `{status, body}`.
 */
async function split(gw, t, db, coll, rangeId) {
  const i = t.ranges.findIndex(r => r.id === String(rangeId));
  if (i < 0) return { status: 404, body: { code: "NotFound", message: `range ${rangeId} is not a current range of ${db}/${coll}` } };
  const parent = t.ranges[i];
  const lo = toBig(parent.minInclusive);
  const hi = toBig(parent.maxExclusive);
  if (hi - lo < 2n) return { status: 400, body: { code: "BadRequest", message: `range ${rangeId} is too narrow to split` } };
  const mid = toEpk(lo + (hi - lo) / 2n);

  const store = createStore("127.0.0.1", 0);
  gw.stores.push(store);
  const storeIndex = gw.stores.length - 1;
  // The new store needs the database and collection (later control-plane writes fan out to it).
  await dispatch(store, { method: "POST", url: "/dbs", headers: {}, body: JSON.stringify({ id: db }) });
  await dispatch(store, { method: "POST", url: `/dbs/${db}/colls`, headers: {}, body: JSON.stringify({ id: coll, partitionKey: t.pkDef }) });

  const from = gw.stores[parent.store].database(db).collection(coll).documents;
  const to = store.database(db).collection(coll).documents;
  let moved = 0;
  for (const [rid, item] of [...from._data.entries()]) {
    const doc = item.read();
    const { epk } = epkOf(pkValuesOf(doc, t.pkDef), t.pkDef);
    if (epk === undefined || epk < mid) continue;
    to._set(doc);
    from._data.delete(rid);
    for (const [k, v] of [...from._index.entries()]) if (v === rid) from._index.delete(k);
    moved++;
  }

  // New items of the right child's store must not reuse a moved item's `_rid` (the store keys
  // items by `_rid`, so a reused one would overwrite the moved item).
  to._ridCount = Math.max(to._ridCount, from._ridCount, ridSpace(storeIndex));

  const left = { id: String(t.nextId++), minInclusive: parent.minInclusive, maxExclusive: mid, parents: [...parent.parents, parent.id], store: parent.store };
  const right = { id: String(t.nextId++), minInclusive: mid, maxExclusive: parent.maxExclusive, parents: [...parent.parents, parent.id], store: storeIndex };
  t.ranges.splice(i, 1, left, right);
  t.gone.add(parent.id);
  t.version++;
  return { status: 200, body: { parent: parent.id, children: [left.id, right.id], moved } };
}

/**
 * Merges adjacent ranges `leftId` and `rightId` of `db`/`coll` into one new range (the
 * service's partition merge): the new range keeps the left range's store, the right range's
 * documents move there, and both old ids answer 410/1002 from then on, like the parent of a
 * split. Moved documents keep their `_rid` (see `ridSpace`), so store continuation tokens of the
 * right range stay valid,
 * read with EPK bounds on the merged range, as the service does.
 * Returns `{status, body}`.
 */
async function merge(gw, t, db, coll, leftId, rightId) {
  const i = t.ranges.findIndex(r => r.id === String(leftId));
  const j = t.ranges.findIndex(r => r.id === String(rightId));
  if (i < 0 || j < 0) return { status: 404, body: { code: "NotFound", message: `ranges ${leftId} and ${rightId} must both be current ranges of ${db}/${coll}` } };
  const left = t.ranges[i];
  const right = t.ranges[j];
  if (j !== i + 1 || left.maxExclusive !== right.minInclusive) return { status: 400, body: { code: "BadRequest", message: `ranges ${leftId} and ${rightId} are not adjacent (left, then right)` } };
  const from = gw.stores[right.store].database(db).collection(coll).documents;
  const to = gw.stores[left.store].database(db).collection(coll).documents;
  let moved = 0;
  if (right.store !== left.store) {
    for (const [rid] of from._data) {
      // Stores number documents from disjoint ranges (ridSpace), so this cannot happen; if it
      // did, store continuations would no longer be valid across the merge: fail loudly.
      if (to._data.has(rid)) return { status: 500, body: { code: "InternalServerError", message: `merge: _rid ${rid} exists in both stores` } };
    }
    for (const [rid, item] of [...from._data.entries()]) {
      to._set(item.read());
      from._data.delete(rid);
      moved++;
    }
    from._index.clear();
    to._ridCount = Math.max(to._ridCount, from._ridCount);
  }
  const merged = { id: String(t.nextId++), minInclusive: left.minInclusive, maxExclusive: right.maxExclusive, parents: [...new Set([...left.parents, left.id, ...right.parents, right.id])], store: left.store };
  t.ranges.splice(i, 2, merged);
  t.gone.add(left.id);
  t.gone.add(right.id);
  t.version++;
  return { status: 200, body: { merged: merged.id, parents: [left.id, right.id], moved } };
}

/**
 * Where store `index` starts numbering the documents of a collection: stores number from
 * disjoint ranges, so a document keeps its `_rid` (and store continuation tokens stay valid,
 * read with EPK bounds) when a split or merge moves it to another store. The server writes the
 * counter as a 32-bit integer: 2,000 stores of a million documents each.
 */
function ridSpace(index) {
  return index * 1000000;
}

module.exports = { split, merge, pkValuesOf, ridSpace };
