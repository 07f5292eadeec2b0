"use strict";
// The planner against the shapes of PROTOCOL.md §7.4 (the service's own plans), and the clause
// reader on the inputs it must refuse by name.
const test = require("node:test");
const assert = require("node:assert");
const { plan } = require("../lib/plan");
const sql = require("../lib/sql");

const ALL = "Aggregate,CompositeAggregate,Distinct,GroupBy,MultipleOrderBy,NonValueAggregate,OffsetAndLimit,OrderBy,Top";
const pkDef = { paths: ["/key"], kind: "Hash", version: 2 };
const info = (q, params = [], features = ALL) => plan(q, params, pkDef, features).queryInfo;
const oneLine = s => s.replace(/\s*\n\s*/g, " ");

test("ORDER BY rewrites to orderByItems + payload with the filter placeholder (row 1)", () => {
  const i = info("SELECT * FROM c ORDER BY c.id");
  assert.deepStrictEqual(i.orderBy, ["Ascending"]);
  assert.deepStrictEqual(i.orderByExpressions, ["c.id"]);
  assert.strictEqual(oneLine(i.rewrittenQuery), 'SELECT c._rid, [{"item": c.id}] AS orderByItems, c AS payload FROM c WHERE ({documentdb-formattableorderbyquery-filter}) ORDER BY c.id');
});

test("TOP passes through; DISTINCT + TOP drops TOP per range (rows 2, 4)", () => {
  const top = info("SELECT TOP 5 * FROM c");
  assert.strictEqual(top.top, 5);
  assert.strictEqual(top.rewrittenQuery, "");
  const d = info("SELECT DISTINCT TOP 5 VALUE c.name FROM c");
  assert.strictEqual(d.distinctType, "Unordered");
  assert.strictEqual(oneLine(d.rewrittenQuery), "SELECT DISTINCT VALUE c.name FROM c");
});

test("OFFSET/LIMIT run per range as OFFSET 0 LIMIT offset+limit, parameters folded (rows 6, 7)", () => {
  const i = info("SELECT * FROM c OFFSET @o LIMIT @l", [{ name: "@o", value: 42 }, { name: "@l", value: 1337 }]);
  assert.deepStrictEqual([i.offset, i.limit], [42, 1337]);
  assert.strictEqual(oneLine(i.rewrittenQuery), "SELECT * FROM c OFFSET 0 LIMIT 1379");
});

test("VALUE aggregates rewrite to item partials (rows 10, 12, 13)", () => {
  assert.strictEqual(oneLine(info("SELECT VALUE COUNT(1) FROM c").rewrittenQuery), 'SELECT VALUE [{"item": COUNT(1)}] FROM c');
  assert.strictEqual(oneLine(info("SELECT VALUE AVG(c.blah) FROM c").rewrittenQuery), 'SELECT VALUE [{"item": {"sum": SUM(c.blah), "count": COUNT(c.blah)}}] FROM c');
  const min = info("SELECT VALUE MIN(c.blah) FROM c");
  assert.deepStrictEqual(min.aggregates, ["Min"]);
  assert.strictEqual(oneLine(min.rewrittenQuery), 'SELECT VALUE [{"item": MIN(c.blah), "item2": {"min": MIN(c.blah), "count": COUNT(c.blah)}}] FROM c');
});

test("non-VALUE aggregates and GROUP BY become groupByItems + payload (rows 14, 16)", () => {
  const a = info("SELECT AVG(c.blah) FROM c");
  assert.deepStrictEqual(a.groupByAliases, ["$1"]);
  assert.deepStrictEqual(a.groupByAliasToAggregateType, { $1: "Average" });
  assert.strictEqual(oneLine(a.rewrittenQuery), 'SELECT {"$1": {"item": {"sum": SUM(c.blah), "count": COUNT(c.blah)}}} AS payload FROM c');
  const g = info("SELECT c.team, c.name, COUNT(1) AS count FROM c GROUP BY c.team, c.name");
  assert.deepStrictEqual(g.groupByAliasToAggregateType, { team: null, name: null, count: "Count" });
  assert.strictEqual(oneLine(g.rewrittenQuery), 'SELECT [{"item": c.team}, {"item": c.name}] AS groupByItems, {"team": c.team, "name": c.name, "count": {"item": COUNT(1)}} AS payload FROM c GROUP BY c.team, c.name');
});

test("a partition key equality gives a point range; anything else the whole range", () => {
  const point = plan("SELECT * FROM c WHERE c.key = @k AND c.n > 1", [{ name: "@k", value: "x" }], pkDef, ALL).queryRanges;
  assert.strictEqual(point.length, 1);
  assert.strictEqual(point[0].min, point[0].max);
  assert.strictEqual(point[0].isMaxInclusive, true);
  const all = plan("SELECT * FROM c WHERE c.key = 'x' OR c.n > 1", [], pkDef, ALL).queryRanges;
  assert.deepStrictEqual(all, [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }]);
});

test("a feature the client did not list is refused by name", () => {
  assert.throws(() => info("SELECT c.a, COUNT(1) AS n FROM c GROUP BY c.a", [], "OrderBy,Top"), /GroupBy, which the calling client does not support/);
  assert.throws(() => info("SELECT * FROM c ORDER BY c.a, c.b", [], "OrderBy"), /MultipleOrderBy/);
});

test("the clause reader refuses what it cannot read", () => {
  assert.throws(() => sql.parse("DELETE FROM c"), /does not start with SELECT/);
  assert.throws(() => sql.parse("SELECT * FROM c WHERE c.a = 'x"), /unterminated string/);
  assert.throws(() => sql.parse("SELECT (c.a FROM c"), /unbalanced/);
  assert.throws(() => sql.parse("SELECT * FROM c OFFSET 1"), /OFFSET and LIMIT/);
  const p = sql.parse("SELECT c.toppings, c[\"order\"] AS o FROM root c WHERE c.description = 'from where'");
  assert.deepStrictEqual(p.items.map(i => i.alias), ["toppings", "o"]);
  assert.strictEqual(p.rootAlias, "c");
  assert.strictEqual(p.where, "c.description = 'from where'");
});
