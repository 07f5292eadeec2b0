// One per-range store: an in-process @vercel/cosmosdb-server account, reached by dispatching
// fake requests through the server's own router (LOCAL_SERVER.md §2, "In-process hosting works").
"use strict";

const { Readable } = require("stream");
const route = require("@vercel/cosmosdb-server/lib/routes").default;
const Account = require("@vercel/cosmosdb-server/lib/account").default;

/** Creates a store; `host`/`port` are only used by the server to build self links. */
function createStore(host, port) {
  return new Account(host, port);
}

/**
 * Dispatches `{method, url, headers, body}` (body: string or undefined) to `account`.
 * Resolves to `{status, headers, body}` where body is the handler's JSON value (or undefined).
 */
async function dispatch(account, { method, url, headers, body }) {
  const req = Readable.from(body ? [Buffer.from(body)] : []);
  req.method = method;
  req.url = url;
  req.headers = { ...headers };
  const out = { status: 200, headers: {} };
  const res = {
    get statusCode() { return out.status; },
    set statusCode(v) { out.status = v; },
    setHeader(k, v) { out.headers[String(k).toLowerCase()] = v; },
    getHeader(k) { return out.headers[String(k).toLowerCase()]; }
  };
  const r = route(req);
  if (!r) return { status: 400, headers: {}, body: { code: "BadRequest", message: `no route for ${method} ${url}` } };
  const [params, handler] = r;
  try {
    out.body = await handler(account, req, res, params);
  } catch (err) {
    return { status: 500, headers: {}, body: { code: "InternalServerError", message: String(err && err.message) } };
  }
  return out;
}

module.exports = { createStore, dispatch };
