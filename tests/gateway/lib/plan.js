// Query plans in the gateway's format (PROTOCOL.md §7.3) with the rewrites of §7.4, built from
// the clause reader in sql.js. A plan that needs a feature the client did not list in
// `x-ms-cosmos-supported-query-features` is refused like the service refuses it (§7.2).
"use strict";

const sql = require("./sql");
const { epkOf } = require("./routing");

const FILTER = "{documentdb-formattableorderbyquery-filter}";

/** The rewrite of one aggregate call for a range (§7.4 rows 10-13). */
function aggregatePartial(call) {
  const { name, arg } = call;
  if (name === "AVG") return `{"item": {"sum": SUM(${arg}), "count": COUNT(${arg})}}`;
  if (name === "MIN" || name === "MAX") {
    const k = name.toLowerCase();
    return `{"item": ${name}(${arg}), "item2": {"${k}": ${name}(${arg}), "count": COUNT(${arg})}}`;
  }
  return `{"item": ${name}(${arg})}`;
}

/** `{"a": e1, "b": e2}` for the select items (the payload of a non-VALUE projection). */
function objectOf(items) {
  return `{${items.map(i => `"${i.alias}": ${i.expr}`).join(", ")}}`;
}

/**
 * The `queryRanges` of a query: a point range when the WHERE clause has a top-level
 * `<root>.<pk> = <literal or @param>` conjunct for a single-path hash key, else everything.
 */
function queryRanges(p, params, pkDef) {
  const all = [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }];
  const paths = (pkDef && pkDef.paths) || [];
  if (!p.where || !p.rootAlias || paths.length !== 1 || (pkDef.kind || "Hash") !== "Hash") return all;
  const name = paths[0].slice(1);
  if (name.includes("/")) return all;
  const target = new RegExp(`^\\(*\\s*${p.rootAlias.replace(/\$/g, "\\$")}\\s*(\\.\\s*${name}|\\[\\s*"${name}"\\s*\\])\\s*=\\s*(.+?)\\s*\\)*$`);
  for (const term of sql.splitTop(p.where, "AND")) {
    if (sql.splitTop(term, "OR").length > 1) continue;
    const m = target.exec(term);
    if (!m) continue;
    const rhs = m[2];
    let value;
    if (/^@\w+$/.test(rhs)) {
      const param = (params || []).find(x => x.name === rhs);
      if (!param) continue;
      value = param.value;
    } else {
      try {
        value = JSON.parse(rhs.replace(/^'(.*)'$/s, (_, s) => JSON.stringify(s)));
      } catch {
        continue;
      }
    }
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") continue;
    const { epk } = epkOf([value], pkDef);
    if (epk === undefined) continue;
    return [{ min: epk, max: epk, isMinInclusive: true, isMaxInclusive: true }];
  }
  return all;
}

/** Refuses a plan needing a feature the client did not list (§7.2). */
function requireFeatures(needed, header) {
  const have = new Set(String(header || "").split(",").map(s => s.trim()).filter(Boolean));
  for (const f of needed) {
    if (!have.has(f)) throw Object.assign(new Error(`Query contained ${f}, which the calling client does not support.`), { status: 400 });
  }
}

/**
 * Plans `query` (text) with `params` for a collection with `pkDef`, for a client that
 * advertises `features`. Returns the plan body or throws {status, message}.
 */
function plan(query, params, pkDef, features) {
  let p;
  try {
    p = sql.parse(query, params);
  } catch (e) {
    throw Object.assign(new Error(`Syntax error (test gateway planner): ${e.message}`), { status: 400 });
  }
  const info = {
    distinctType: "None", top: p.top === undefined ? null : p.top, offset: null, limit: null,
    orderBy: [], orderByExpressions: [], groupByExpressions: [], groupByAliases: [], aggregates: [],
    groupByAliasToAggregateType: {}, rewrittenQuery: "", hasSelectValue: p.value, dCountInfo: null,
    hasNonStreamingOrderBy: false
  };
  const needed = [];
  if (p.top !== undefined) needed.push("Top");
  if (p.offset !== undefined) {
    info.offset = p.offset;
    info.limit = p.limit;
    needed.push("OffsetAndLimit");
  }
  const aggItems = p.items.filter(i => sql.containsAggregate(i.expr));
  const grouped = p.groupBy.length > 0 || (aggItems.length > 0 && !p.value);
  const root = p.rootAlias;
  const payloadOf = () => (p.star ? root : p.value ? p.items[0].expr : objectOf(p.items));
  if (p.star && !root) throw Object.assign(new Error("SELECT * needs a root alias in FROM (test gateway planner)"), { status: 400 });
  if (grouped) {
    if (p.orderBy.length) throw Object.assign(new Error("the test gateway does not plan GROUP BY with ORDER BY"), { status: 400 });
    if (p.distinct) throw Object.assign(new Error("the test gateway does not plan DISTINCT with GROUP BY"), { status: 400 });
    needed.push(p.groupBy.length ? "GroupBy" : "NonValueAggregate");
    info.groupByExpressions = p.groupBy.slice();
    let payload;
    if (p.value) {
      const call = sql.aggregateCall(p.items[0].expr);
      if (call) {
        info.groupByAliases = ["$1"];
        info.groupByAliasToAggregateType = { $1: call.fn };
        payload = `{"$1": ${aggregatePartial(call)}}`;
      } else if (sql.containsAggregate(p.items[0].expr)) {
        throw Object.assign(new Error("the test gateway does not plan aggregates inside expressions"), { status: 400 });
      } else payload = p.items[0].expr;
    } else {
      if (p.star) throw Object.assign(new Error("SELECT * with GROUP BY is not valid"), { status: 400 });
      const entries = [];
      for (const item of p.items) {
        const call = sql.aggregateCall(item.expr);
        if (!call && sql.containsAggregate(item.expr)) throw Object.assign(new Error("the test gateway does not plan aggregates inside expressions"), { status: 400 });
        info.groupByAliases.push(item.alias);
        info.groupByAliasToAggregateType[item.alias] = call ? call.fn : null;
        entries.push(`"${item.alias}": ${call ? aggregatePartial(call) : item.expr}`);
        if (call) needed.push("CompositeAggregate");
      }
      payload = `{${entries.join(", ")}}`;
    }
    const items = p.groupBy.length ? `[${p.groupBy.map(g => `{"item": ${g}}`).join(", ")}] AS groupByItems, ` : "";
    info.rewrittenQuery = sql.print({ select: `${items}${payload} AS payload`, from: p.from, where: p.where, groupBy: p.groupBy });
  } else if (aggItems.length) {
    // SELECT VALUE AGG(x)
    const call = sql.aggregateCall(p.items[0].expr);
    if (!call || p.items.length !== 1) throw Object.assign(new Error("the test gateway plans one VALUE aggregate per query, not an expression around it"), { status: 400 });
    if (p.orderBy.length) throw Object.assign(new Error("ORDER BY with a VALUE aggregate is not valid"), { status: 400 });
    needed.push("Aggregate");
    info.aggregates = [call.fn];
    info.rewrittenQuery = sql.print({ value: true, select: `[${aggregatePartial(call)}]`, from: p.from, where: p.where });
  } else if (p.orderBy.length) {
    needed.push(p.orderBy.length > 1 ? "MultipleOrderBy" : "OrderBy");
    if (!root) throw Object.assign(new Error("ORDER BY needs a root alias in FROM (test gateway planner)"), { status: 400 });
    info.orderBy = p.orderBy.map(o => (o.desc ? "Descending" : "Ascending"));
    info.orderByExpressions = p.orderBy.map(o => o.expr);
    if (p.distinct) {
      info.distinctType = "Ordered";
      needed.push("Distinct");
    }
    const items = `[${p.orderBy.map(o => `{"item": ${o.expr}}`).join(", ")}]`;
    const where = p.where === undefined ? `(${FILTER})` : `((${FILTER}) AND (${p.where}))`;
    const limit = p.offset !== undefined ? { offset: 0, limit: p.offset + p.limit } : {};
    info.rewrittenQuery = sql.print({
      top: p.distinct ? undefined : p.top,
      select: `${root}._rid, ${items} AS orderByItems, ${payloadOf()} AS payload`,
      from: p.from, where, orderBy: p.orderBy, ...limit
    });
  } else {
    if (p.distinct) {
      info.distinctType = "Unordered";
      needed.push("Distinct");
    }
    if (p.offset !== undefined) {
      info.rewrittenQuery = sql.print({ ...p, offset: 0, limit: p.offset + p.limit, top: p.distinct ? undefined : p.top });
    } else if (p.distinct && p.top !== undefined) {
      info.rewrittenQuery = sql.print({ ...p, top: undefined });
    }
  }
  requireFeatures(needed, features);
  return { partitionedQueryExecutionInfoVersion: 2, queryInfo: info, queryRanges: queryRanges(p, params, pkDef) };
}

module.exports = { plan, FILTER };
