// A clause-level reader of Cosmos SQL: enough structure to plan a query the way the service's
// gateway does (PROTOCOL.md §7.3, §7.4) and to translate the rewrites the stores cannot run.
// It never evaluates expressions: it finds the top-level clauses (outside strings, parentheses,
// brackets and braces) and keeps each clause's text, which the stores' own engine then runs.
// Anything it cannot read is an error naming the problem, never a silent guess.
"use strict";

const CLAUSES = ["FROM", "WHERE", "GROUP BY", "ORDER BY", "OFFSET", "LIMIT"];
const AGGREGATES = { COUNT: "Count", SUM: "Sum", MIN: "Min", MAX: "Max", AVG: "Average" };

/**
 * Walks `text` and calls `visit(i, depth)` for every character outside string literals
 * (depth = nesting of ( [ {). Throws on unbalanced brackets or an unterminated string.
 */
function walk(text, visit) {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) throw new Error(`unterminated string starting at offset ${i}`);
      i = j;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    if (visit(i, depth) === false) return;
    if (ch === ")" || ch === "]" || ch === "}") {
      depth--;
      if (depth < 0) throw new Error(`unbalanced '${ch}' at offset ${i}`);
    }
  }
  if (depth !== 0) throw new Error("unbalanced brackets");
}

const isWordChar = ch => ch !== undefined && /[A-Za-z0-9_$@]/.test(ch);

/** Offsets of top-level occurrences of keyword `kw` (words separated by spaces) in `text`. */
function findKeyword(text, kw) {
  const re = new RegExp(`^${kw.split(" ").join("\\s+")}`, "i");
  const hits = [];
  walk(text, (i, depth) => {
    if (depth !== 0 || isWordChar(text[i - 1]) || text[i - 1] === ".") return;
    const m = re.exec(text.slice(i));
    if (m && !isWordChar(text[i + m[0].length])) hits.push({ at: i, len: m[0].length });
  });
  return hits;
}

/** Splits `text` at top-level occurrences of `sep` (a single character or a keyword). */
function splitTop(text, sep) {
  const parts = [];
  let start = 0;
  if (sep.length === 1) {
    walk(text, (i, depth) => {
      if (depth === 0 && text[i] === sep) {
        parts.push(text.slice(start, i));
        start = i + 1;
      }
    });
  } else {
    for (const h of findKeyword(text, sep)) {
      parts.push(text.slice(start, h.at));
      start = h.at + h.len;
    }
  }
  parts.push(text.slice(start));
  return parts.map(s => s.trim());
}

/** `AGG(arg)` → {fn: "Count", arg} when the whole expression is one aggregate call. */
function aggregateCall(expr) {
  const m = /^([A-Za-z]+)\s*\(/.exec(expr);
  if (!m || !AGGREGATES[m[1].toUpperCase()] || !expr.endsWith(")")) return undefined;
  const open = m[0].length - 1;
  let close = -1;
  walk(expr, (i, depth) => {
    if (i > open && depth === 1 && expr[i] === ")") {
      close = i;
      return false;
    }
  });
  if (close !== expr.length - 1) return undefined;
  return { fn: AGGREGATES[m[1].toUpperCase()], name: m[1].toUpperCase(), arg: expr.slice(open + 1, close).trim() };
}

/** True when `expr` contains an aggregate call anywhere (outside strings). */
function containsAggregate(expr) {
  let found = false;
  const re = new RegExp(`^(${Object.keys(AGGREGATES).join("|")})\\s*\\(`, "i");
  walk(expr, i => {
    if (!isWordChar(expr[i - 1]) && expr[i - 1] !== "." && re.test(expr.slice(i))) {
      found = true;
      return false;
    }
  });
  return found;
}

/** The implicit alias of a select item (`c.a.b` → `b`, `c["x"]` → `x`), else `$n`. */
function implicitAlias(expr, n) {
  let m = /^([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr) || /\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (m) return m[1];
  m = /\[\s*"([^"]*)"\s*\]$/.exec(expr);
  if (m) return m[1];
  return `$${n}`;
}

/** Reads one `SELECT` item: `expr [AS alias]`. */
function selectItem(text, n) {
  const as = findKeyword(text, "AS");
  if (as.length) {
    const h = as[as.length - 1];
    return { expr: text.slice(0, h.at).trim(), alias: text.slice(h.at + h.len).trim(), explicit: true };
  }
  return { expr: text, alias: implicitAlias(text, n), explicit: false };
}

/** Resolves a count clause (`5` or `@p`) with the query's parameters. */
function countOf(text, params, what) {
  const t = text.trim();
  let v;
  if (/^@\w+$/.test(t)) {
    const p = (params || []).find(x => x.name === t);
    if (!p) throw new Error(`${what} parameter ${t} is not given`);
    v = p.value;
  } else v = Number(t);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${what} is not a non-negative integer: ${t}`);
  return v;
}

/**
 * Reads `SELECT [DISTINCT] [TOP n] [VALUE] <items> FROM <from> [WHERE] [GROUP BY] [ORDER BY]
 * [OFFSET n LIMIT m]` into its clauses. Throws an Error naming what it cannot read.
 */
function parse(text, params) {
  const q = String(text).trim();
  const m = /^select\s+/i.exec(q);
  if (!m) throw new Error("the query does not start with SELECT");
  let rest = q.slice(m[0].length);
  const out = { distinct: false, top: undefined, value: false, items: [], from: "", where: undefined, groupBy: [], orderBy: [], offset: undefined, limit: undefined };
  let k;
  if ((k = /^distinct\s+/i.exec(rest))) {
    out.distinct = true;
    rest = rest.slice(k[0].length);
  }
  if ((k = /^top\s+(@\w+|\d+)\s+/i.exec(rest))) {
    out.top = countOf(k[1], params, "TOP");
    rest = rest.slice(k[0].length);
  }
  if ((k = /^value\s+/i.exec(rest))) {
    out.value = true;
    rest = rest.slice(k[0].length);
  }
  // Clause boundaries, in the order SQL requires them.
  const marks = [];
  for (const c of CLAUSES) {
    const hits = findKeyword(rest, c);
    if (hits.length > 1) throw new Error(`more than one top-level ${c}`);
    if (hits.length) marks.push({ c, ...hits[0] });
  }
  marks.sort((a, b) => a.at - b.at);
  if (!marks.length || marks[0].c !== "FROM") throw new Error("the query has no FROM clause after its select list");
  const clause = {};
  for (let i = 0; i < marks.length; i++) {
    const end = i + 1 < marks.length ? marks[i + 1].at : rest.length;
    clause[marks[i].c] = rest.slice(marks[i].at + marks[i].len, end).trim();
  }
  const select = rest.slice(0, marks[0].at).trim();
  out.select = select;
  out.items = select === "*" ? [] : splitTop(select, ",").map((t, i) => selectItem(t, i + 1));
  out.star = select === "*";
  out.from = clause.FROM;
  out.where = clause.WHERE;
  if (clause["GROUP BY"] !== undefined) out.groupBy = splitTop(clause["GROUP BY"], ",");
  if (clause["ORDER BY"] !== undefined) {
    out.orderBy = splitTop(clause["ORDER BY"], ",").map(t => {
      const d = /\s+(asc|desc)$/i.exec(t);
      return d ? { expr: t.slice(0, d.index).trim(), desc: d[1].toLowerCase() === "desc" } : { expr: t, desc: false };
    });
  }
  if ((clause.OFFSET === undefined) !== (clause.LIMIT === undefined)) throw new Error("OFFSET and LIMIT must come together");
  if (clause.OFFSET !== undefined) {
    out.offset = countOf(clause.OFFSET, params, "OFFSET");
    out.limit = countOf(clause.LIMIT, params, "LIMIT");
  }
  out.rootAlias = rootAlias(out.from);
  return out;
}

/** The alias of the root document in a FROM clause (`c`, `root r` → `r`); undefined for `x IN y`. */
function rootAlias(from) {
  const head = splitTop(from, "JOIN")[0];
  const words = head.split(/\s+/).filter(Boolean);
  if (words.length >= 2 && words[1].toUpperCase() === "IN") return undefined;
  if (words.length === 1) return words[0];
  if (words.length === 2) return words[1];
  if (words.length === 3 && words[1].toUpperCase() === "AS") return words[2];
  return undefined;
}

/** Prints a query from clauses (the inverse of `parse`, for the parts given). */
function print(p) {
  let s = "SELECT ";
  if (p.distinct) s += "DISTINCT ";
  if (p.top !== undefined) s += `TOP ${p.top} `;
  if (p.value) s += "VALUE ";
  s += p.select;
  s += `\nFROM ${p.from}`;
  if (p.where !== undefined) s += `\nWHERE ${p.where}`;
  if (p.groupBy && p.groupBy.length) s += `\nGROUP BY ${p.groupBy.join(", ")}`;
  if (p.orderBy && p.orderBy.length) s += `\nORDER BY ${p.orderBy.map(o => o.expr + (o.desc ? " DESC" : "")).join(", ")}`;
  if (p.offset !== undefined) s += `\nOFFSET ${p.offset} LIMIT ${p.limit}`;
  return s;
}

/**
 * Reads an object or array literal whose leaves are expressions (`{"a": c.a, "n": {"item":
 * COUNT(1)}}`, `[{"item": c.x}]`) into a tree: {obj: [[key, node]]} | {arr: [node]} | {expr}.
 */
function literal(text) {
  const t = text.trim();
  if (t.startsWith("{") && t.endsWith("}")) {
    const inner = t.slice(1, -1).trim();
    if (!inner) return { obj: [] };
    return {
      obj: splitTop(inner, ",").map(entry => {
        const colon = [];
        walk(entry, (i, depth) => { if (depth === 0 && entry[i] === ":") colon.push(i); });
        if (!colon.length) throw new Error(`object literal entry without a key: ${entry}`);
        const key = entry.slice(0, colon[0]).trim();
        const km = /^"([^"]*)"$/.exec(key) || /^([A-Za-z_$][\w$]*)$/.exec(key);
        if (!km) throw new Error(`object literal key is not a name: ${key}`);
        return [km[1], literal(entry.slice(colon[0] + 1))];
      })
    };
  }
  if (t.startsWith("[") && t.endsWith("]")) {
    const inner = t.slice(1, -1).trim();
    return { arr: inner ? splitTop(inner, ",").map(literal) : [] };
  }
  return { expr: t };
}

module.exports = { parse, print, splitTop, findKeyword, aggregateCall, containsAggregate, literal, countOf, walk, AGGREGATES };
