// Running a query on one range's store (PROTOCOL.md §7.5 "Fan-out"), translating what the store
// cannot run (LOCAL_SERVER.md §1.2): aggregate partials inside literals (§7.4 rows 10-14), GROUP
// BY (emulated with one key query and one aggregate query per group), DISTINCT (dropped per
// range: the client dedupes) and `OFFSET 0 LIMIT k` (run as `TOP k`). A partition-key scope (the
// pk header) or an EPK sub-range (`x-ms-start-epk`/`x-ms-end-epk`) becomes a filter on the
// store's query, because the store ignores both headers.
"use strict";

const sql = require("./sql");
const { dispatch } = require("./store");
const { epkOf } = require("./routing");
const { pkValuesOf } = require("./admin");

// Bounds of the gateway's own work per request (a runaway test must fail, not hang).
const MAX_PAGES_MATERIALIZED = 10000;
const MAX_GROUPS = 10000;
const GW_TOKEN = "gw-offset:";

const bad = message => Object.assign(new Error(message), { status: 400 });

/** Runs `text` on `store` for every page; returns all rows. */
async function fetchAll(store, url, text, params) {
  const rows = [];
  let cont;
  for (let page = 0; page < MAX_PAGES_MATERIALIZED; page++) {
    const headers = { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json", "x-ms-documentdb-query-enablecrosspartition": "True", "x-ms-max-item-count": "-1" };
    if (cont) headers["x-ms-continuation"] = cont;
    const r = await dispatch(store, { method: "POST", url, headers, body: JSON.stringify({ query: text, parameters: params }) });
    if (r.status !== 200) throw Object.assign(new Error(`store query failed (${r.status}): ${r.body && r.body.message} [${text}]`), { status: r.status });
    rows.push(...r.body.Documents);
    cont = r.headers["x-ms-continuation"];
    if (!cont) return rows;
  }
  throw new Error(`store query did not finish in ${MAX_PAGES_MATERIALIZED} pages`);
}

/** Adds `term` to the WHERE clause of parsed query `p`. */
function andWhere(p, term) {
  p.where = p.where === undefined ? term : `(${p.where}) AND (${term})`;
}

/** The path expression of a pk path (`/a/b`) under `alias`. */
const pathExpr = (alias, path) => alias + path.slice(1).split("/").map(k => `["${k}"]`).join("");

/**
 * Restricts `p` to a partition key (header values, possibly a prefix of a hierarchical key)
 * and/or to the documents of `store` whose EPK lies in [start, end).
 */
function scope(p, params, { pkValues, start, end, pkDef, store, db, coll }) {
  const paths = (pkDef && pkDef.paths) || [];
  if ((pkValues || start !== undefined) && !p.rootAlias) throw bad("the test gateway scopes only queries with a root alias in FROM");
  if (pkValues) {
    pkValues.forEach((v, i) => {
      const name = `@__gwpk${i}`;
      const e = pathExpr(p.rootAlias, paths[i]);
      if (v !== null && typeof v === "object" && Object.keys(v).length === 0) andWhere(p, `NOT IS_DEFINED(${e})`);
      else {
        params.push({ name, value: v });
        andWhere(p, `${e} = ${name}`);
      }
    });
  }
  if (start !== undefined) {
    // The store's documents whose EPK lies in [start, end), named by `_rid` (unique per store).
    const docs = store.database(db).collection(coll).documents;
    const s = start.toUpperCase();
    const e = end.toUpperCase();
    const rids = [];
    for (const item of docs._data.values()) {
      const doc = item.read();
      const { epk } = epkOf(pkValuesOf(doc, pkDef), pkDef);
      if (epk !== undefined && epk >= s && (e === "FF" || e === "" || epk < e)) rids.push(doc._rid);
    }
    params.push({ name: "@__gwepk", value: rids });
    andWhere(p, `ARRAY_CONTAINS(@__gwepk, ${p.rootAlias}._rid)`);
  }
}

/** Collects the aggregate calls among a literal tree's leaves. */
function aggregateLeaves(node, out) {
  if (node.obj) node.obj.forEach(([, v]) => aggregateLeaves(v, out));
  else if (node.arr) node.arr.forEach(v => aggregateLeaves(v, out));
  else {
    const call = sql.aggregateCall(node.expr);
    if (call) {
      node.alias = `a${out.length}`;
      out.push({ call, alias: node.alias });
    } else if (sql.containsAggregate(node.expr)) throw bad(`the test gateway cannot run an aggregate inside an expression: ${node.expr}`);
  }
  return out;
}

/** Builds a literal's value from aggregate results and key values; undefined leaves vanish. */
function build(node, agg, keyOf) {
  if (node.obj) {
    const o = {};
    for (const [k, v] of node.obj) {
      const x = build(v, agg, keyOf);
      if (x !== undefined) o[k] = x;
    }
    return o;
  }
  if (node.arr) return node.arr.map(v => build(v, agg, keyOf)).filter(x => x !== undefined);
  if (node.alias) return agg[node.alias];
  return keyOf(node.expr);
}

/** The aggregate partials of a literal for the documents `p` selects (one store query). */
async function aggregates(tree, p, params, store, url) {
  const leaves = aggregateLeaves(tree, []);
  if (!leaves.length) return {};
  const select = leaves.map(l => `${l.call.name}(${l.call.arg}) AS ${l.alias}`).join(", ");
  const rows = await fetchAll(store, url, sql.print({ select, from: p.from, where: p.where }), params);
  return rows[0] || {};
}

/** GROUP BY on one range: distinct keys, then one aggregate query per group. */
async function groupRows(p, params, store, url) {
  const m = /^(\[.*\])\s+AS\s+groupByItems\s*,\s*([\s\S]*)\s+AS\s+payload$/is.exec(p.select);
  const items = m ? sql.literal(m[1]) : undefined;
  const payload = sql.literal(m ? m[2] : p.select.replace(/\s+AS\s+payload$/i, ""));
  const keys = p.groupBy;
  if (items && items.arr.length !== keys.length) throw bad("groupByItems does not match GROUP BY");
  let groups = [{}];
  if (keys.length) {
    const keyQuery = sql.print({ value: true, select: `{${keys.map((k, i) => `"k${i}": ${k}`).join(", ")}}`, from: p.from, where: p.where });
    const seen = new Map();
    for (const row of await fetchAll(store, url, keyQuery, params)) {
      const id = JSON.stringify(keys.map((_, i) => (`k${i}` in row ? ["v", row[`k${i}`]] : ["u"])));
      if (!seen.has(id)) seen.set(id, row);
      if (seen.size > MAX_GROUPS) throw new Error(`more than ${MAX_GROUPS} groups on one range`);
    }
    groups = [...seen.values()];
  }
  const out = [];
  for (const g of groups) {
    const q = { from: p.from, where: p.where };
    const ps = params.slice();
    keys.forEach((k, i) => {
      if (`k${i}` in g) {
        ps.push({ name: `@__gwgk${i}`, value: g[`k${i}`] });
        andWhere(q, `${k} = @__gwgk${i}`);
      } else andWhere(q, `NOT IS_DEFINED(${k})`);
    });
    const tree = JSON.parse(JSON.stringify(payload));
    const agg = await aggregates(tree, q, ps, store, url);
    const keyOf = expr => {
      const i = keys.findIndex(k => k.replace(/\s+/g, "") === expr.replace(/\s+/g, ""));
      if (i < 0) throw bad(`a non-aggregate projection must be a GROUP BY expression: ${expr}`);
      return g[`k${i}`];
    };
    const row = { payload: build(tree, agg, keyOf) };
    if (keys.length) row.groupByItems = keys.map((_, i) => (`k${i}` in g ? { item: g[`k${i}`] } : {}));
    out.push(row);
  }
  return out;
}

/** Pages rows the gateway computed itself, with `gw-offset:<n>` continuations. */
function pageOf(rows, headers) {
  const max = Number(headers["x-ms-max-item-count"] || -1);
  const cont = headers["x-ms-continuation"];
  let from = 0;
  if (cont !== undefined) {
    if (!String(cont).startsWith(GW_TOKEN)) throw bad(`continuation ${cont} is not one this gateway issued for this query`);
    from = Number(String(cont).slice(GW_TOKEN.length));
  }
  const to = max > 0 ? Math.min(rows.length, from + max) : rows.length;
  const h = { "x-ms-item-count": String(to - from), "x-ms-request-charge": "1" };
  if (to < rows.length) h["x-ms-continuation"] = `${GW_TOKEN}${to}`;
  return { status: 200, headers: h, body: { _rid: "", Documents: rows.slice(from, to), _count: to - from } };
}

/**
 * Runs a query request for one store. `ctx`: {store, url, body (string), headers, pkDef, db,
 * coll, pkValues?, start?, end?, single} where `single` marks a partition-key-scoped query
 * (the backend runs the whole query, §7.1).
 */
async function runQuery(ctx) {
  let spec;
  try {
    spec = JSON.parse(ctx.body || "");
  } catch (e) {
    throw bad(`query body is not JSON: ${e.message}`);
  }
  if (!spec || typeof spec.query !== "string") throw bad("missing query");
  const params = Array.isArray(spec.parameters) ? spec.parameters.slice() : [];
  let p;
  try {
    p = sql.parse(spec.query, params);
  } catch (e) {
    throw bad(`Syntax error (test gateway): ${e.message}`);
  }
  scope(p, params, ctx);
  const { store, url, headers } = ctx;
  const aggregateRewrite = p.value && /^\[\s*\{\s*"item"/.test(p.select);
  const grouped = p.groupBy.length > 0 || /\s+AS\s+payload$/i.test(p.select) && !/AS\s+orderByItems/i.test(p.select);
  if (aggregateRewrite) {
    const tree = sql.literal(p.select);
    const agg = await aggregates(tree, p, params, store, url);
    return pageOf([build(tree, agg, e => { throw bad(`not an aggregate: ${e}`); })], headers);
  }
  if (grouped) {
    if (ctx.single) throw bad("the test gateway does not run GROUP BY or non-VALUE aggregates in a single-partition query");
    return pageOf(await groupRows(p, params, store, url), headers);
  }
  const needsMaterialize = ctx.single && (p.distinct || (p.offset !== undefined && p.offset > 0));
  if (needsMaterialize) {
    // A single-partition query runs whole in the backend: DISTINCT, then OFFSET/LIMIT, then TOP.
    const plain = { ...p, distinct: false, offset: undefined, limit: undefined, top: undefined };
    let rows = await fetchAll(store, url, sql.print(plain), params);
    if (p.distinct) {
      const seen = new Set();
      rows = rows.filter(r => {
        const k = canonical(r);
        return seen.has(k) ? false : (seen.add(k), true);
      });
    }
    if (p.offset !== undefined) rows = rows.slice(p.offset, p.offset + p.limit);
    if (p.top !== undefined) rows = rows.slice(0, p.top);
    return pageOf(rows, headers);
  }
  // Natively run by the store: drop DISTINCT per range (the client dedupes), OFFSET 0 LIMIT k → TOP k.
  const q = { ...p, distinct: false };
  if (p.offset !== undefined) {
    if (p.offset !== 0) throw bad("a range query must use OFFSET 0 (the client applies the offset)");
    q.top = q.top === undefined ? p.limit : Math.min(q.top, p.limit);
    q.offset = undefined;
    q.limit = undefined;
  }
  const h = { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json", "x-ms-documentdb-query-enablecrosspartition": "True" };
  for (const k of ["x-ms-max-item-count", "x-ms-continuation", "x-ms-documentdb-populatequerymetrics"]) if (headers[k] !== undefined) h[k] = headers[k];
  return dispatch(store, { method: "POST", url, headers: h, body: JSON.stringify({ query: sql.print(q), parameters: params }) });
}

/** Canonical JSON (sorted keys) for DISTINCT. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map(k => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

module.exports = { runQuery, fetchAll, canonical };
