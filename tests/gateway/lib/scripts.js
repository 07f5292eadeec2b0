// Stored procedures and triggers (PROTOCOL.md §10.2), which the plain server has no routes for
// (its UDFs work and are left to it). Scripts are kept here per collection, and run in a Node
// `vm` context with the part of the server-side JavaScript API tests use:
//   getContext().getRequest()   getBody(), setBody(), getValue(), setValue()  (triggers)
//   getContext().getResponse()  getBody(), setBody()
//   getContext().getCollection() getSelfLink(), createDocument, upsertDocument, readDocument,
//                                replaceDocument, deleteDocument, queryDocuments (callbacks
//                                `(err, result, options)`; each returns true: accepted)
//   console.log                  collected for `x-ms-documentdb-script-log-results`
// A script runs in one logical partition, as a transaction: when it throws (or an operation
// fails without a callback to take the error) every write it made is undone and the request
// answers 400, like the service. Bounded: 1 s of synchronous run time per call, 1,000 queued
// operations per execution.
"use strict";

const vm = require("vm");

const SCRIPTS_RE = /^\/dbs\/([^/]+)\/colls\/([^/]+)\/(sprocs|triggers)$/i;
const SCRIPT_RE = /^\/dbs\/([^/]+)\/colls\/([^/]+)\/(sprocs|triggers)\/([^/]+)$/i;
const MAX_OPS = 1000;
const SYNC_TIMEOUT_MS = 1000;
const FEED_NAME = { sprocs: "StoredProcedures", triggers: "Triggers" };

function createScripts() {
  return { byKey: new Map(), next: 1, runs: [] };
}

const err = (status, code, message) => ({ status, body: { code, message } });
const dec = x => decodeURIComponent(x);

function parse(body) {
  try {
    return { v: JSON.parse(body || "") };
  } catch (e) {
    return { error: `body is not JSON: ${e.message}` };
  }
}

function validate(kind, v) {
  if (!v || typeof v.id !== "string" || typeof v.body !== "string") return "a script needs an id and a body";
  if (kind === "triggers") {
    if (!["Pre", "Post"].includes(v.triggerType)) return `triggerType ${v.triggerType} must be Pre or Post`;
    if (!["All", "Create", "Replace", "Delete", "Update"].includes(v.triggerOperation)) return `triggerOperation ${v.triggerOperation} is not All|Create|Replace|Delete|Update`;
  }
  return undefined;
}

/** CRUD of sprocs and triggers; undefined for other paths (execution is `execute`). */
function handle(s, method, path, h, body) {
  let m = SCRIPTS_RE.exec(path);
  if (m) {
    const prefix = `${dec(m[1])}/${dec(m[2])}/${m[3].toLowerCase()}/`;
    if (method === "GET") {
      const all = [...s.byKey.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
      return { status: 200, body: { _rid: "", [FEED_NAME[m[3].toLowerCase()]]: all, _count: all.length } };
    }
    if (method !== "POST") return err(400, "BadRequest", `${method} on a script feed is not supported`);
    const b = parse(body);
    const problem = b.error || validate(m[3].toLowerCase(), b.v);
    if (problem) return err(400, "BadRequest", problem);
    const upsert = String(h["x-ms-documentdb-is-upsert"] || "").toLowerCase() === "true";
    const key = prefix + b.v.id;
    const had = s.byKey.has(key);
    if (had && !upsert) return err(409, "Conflict", `${m[3]} ${b.v.id} already exists`);
    const rid = `S${String(s.next++).padStart(3, "0")}`;
    const doc = { ...b.v, _rid: rid, _self: `dbs/${m[1]}/colls/${m[2]}/${m[3]}/${b.v.id}/`, _etag: `"${rid}"`, _ts: Math.floor(Date.now() / 1000) };
    s.byKey.set(key, doc);
    return { status: had ? 200 : 201, body: doc };
  }
  m = SCRIPT_RE.exec(path);
  if (!m) return undefined;
  const key = `${dec(m[1])}/${dec(m[2])}/${m[3].toLowerCase()}/${dec(m[4])}`;
  const doc = s.byKey.get(key);
  if (method === "POST") return undefined; // execution
  if (!doc) return err(404, "NotFound", `${m[3]} ${dec(m[4])} not found`);
  if (method === "GET") return { status: 200, body: doc };
  if (method === "DELETE") {
    s.byKey.delete(key);
    return { status: 204 };
  }
  if (method === "PUT") {
    const b = parse(body);
    const problem = b.error || validate(m[3].toLowerCase(), b.v) || (b.v.id !== doc.id ? "a script replace keeps its id" : undefined);
    if (problem) return err(400, "BadRequest", problem);
    const next = { ...doc, ...b.v };
    s.byKey.set(key, next);
    return { status: 200, body: next };
  }
  return err(400, "BadRequest", `${method} on a script is not supported`);
}

/** `{db, coll, id}` when `path` executes a stored procedure. */
function executionTarget(path, method) {
  const m = SCRIPT_RE.exec(path);
  if (!m || method !== "POST" || m[3].toLowerCase() !== "sprocs") return undefined;
  return { db: dec(m[1]), coll: dec(m[2]), id: dec(m[4]) };
}

function getScript(s, db, coll, kind, id) {
  return s.byKey.get(`${db}/${coll}/${kind}/${id}`);
}

/**
 * Runs `source` (a function expression) with `args`. `ops` gives the partition's documents:
 * {create(doc), upsert(doc), read(id), replace(id, doc), remove(id), query(spec)} each resolving
 * to {status, body}. `request` is a trigger's request body holder. Resolves to
 * {ok, body, logs, error}.
 */
async function run(source, args, { db, coll, ops, request, responseBody }) {
  const queue = [];
  const undo = [];
  const logs = [];
  let responseValue = responseBody;
  const accept = (run, cb) => {
    if (queue.length >= MAX_OPS) throw new Error(`more than ${MAX_OPS} operations in one script`);
    queue.push({ run, cb });
    return true;
  };
  const idOf = link => dec(String(link).replace(/\/+$/, "").split("/").pop());
  const write = (kind, id, doc) => async () => {
    const before = id === undefined ? undefined : await ops.read(id);
    const r = kind === "create" ? await ops.create(doc) : kind === "upsert" ? await ops.upsert(doc) : kind === "replace" ? await ops.replace(id, doc) : await ops.remove(id);
    if (r.status < 300) {
      const prev = before && before.status === 200 ? before.body : undefined;
      const newId = (r.body && r.body.id) || id;
      undo.push(async () => {
        if (prev) await ops.upsert(prev);
        else if (newId !== undefined) await ops.remove(newId);
      });
    }
    return r;
  };
  const collection = {
    getSelfLink: () => `dbs/${db}/colls/${coll}`,
    createDocument: (link, doc, o, cb) => accept(write("create", undefined, doc), typeof o === "function" ? o : cb),
    upsertDocument: (link, doc, o, cb) => accept(write("upsert", doc && doc.id, doc), typeof o === "function" ? o : cb),
    replaceDocument: (link, doc, o, cb) => accept(write("replace", idOf(link), doc), typeof o === "function" ? o : cb),
    deleteDocument: (link, o, cb) => accept(write("delete", idOf(link)), typeof o === "function" ? o : cb),
    readDocument: (link, o, cb) => accept(() => ops.read(idOf(link)), typeof o === "function" ? o : cb),
    queryDocuments: (link, q, o, cb) => accept(() => ops.query(typeof q === "string" ? { query: q, parameters: [] } : q), typeof o === "function" ? o : cb)
  };
  const context = {
    getCollection: () => collection,
    getRequest: () => ({
      getBody: () => request && request.body,
      setBody: b => { if (request) request.body = b; },
      getValue: () => request && request.body,
      setValue: b => { if (request) request.body = b; }
    }),
    getResponse: () => ({ getBody: () => responseValue, setBody: b => { responseValue = b; } })
  };
  const sandbox = vm.createContext({ getContext: () => context, __collection: collection, console: { log: (...a) => logs.push(a.map(String).join(" ")) } });
  const fail = async e => {
    for (const u of undo.reverse()) await u();
    return { ok: false, error: String((e && e.message) || e), logs };
  };
  try {
    const fn = vm.runInContext(`(${source})`, sandbox, { timeout: SYNC_TIMEOUT_MS });
    if (typeof fn !== "function") return fail(new Error("the script body is not a function"));
    vm.runInContext("__fn.apply(null, __args)", Object.assign(sandbox, { __fn: fn, __args: args }), { timeout: SYNC_TIMEOUT_MS });
    let steps = 0;
    while (queue.length) {
      if (++steps > MAX_OPS) throw new Error(`more than ${MAX_OPS} operations in one script`);
      const { run: op, cb } = queue.shift();
      const r = await op();
      const error = r.status >= 300 ? { number: r.status, body: JSON.stringify(r.body), message: (r.body && r.body.message) || `status ${r.status}` } : undefined;
      const result = r.body && r.body.Documents ? r.body.Documents : r.body;
      if (!cb) {
        if (error) throw new Error(error.message);
        continue;
      }
      Object.assign(sandbox, { __cb: cb, __e: error, __r: result });
      vm.runInContext("__cb(__e, __r, {})", sandbox, { timeout: SYNC_TIMEOUT_MS });
    }
  } catch (e) {
    return fail(e);
  }
  return { ok: true, body: responseValue, logs };
}

module.exports = { createScripts, handle, executionTarget, getScript, run };
