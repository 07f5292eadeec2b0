#!/usr/bin/env node
// Launcher for the local Cosmos DB test server used by Sextant's integration tests.
//
// Starts `@vercel/cosmosdb-server` (pinned in package.json) on 127.0.0.1 with ephemeral ports,
// wraps its request listener with small, named compatibility shims, prints one JSON line with the
// endpoints to stdout, and keeps running until stdin closes or it receives SIGTERM/SIGINT.
//
// Usage: node tests/server/launcher.js [options]
//   --http-only            start only the HTTP listener
//   --https-only           start only the HTTPS listener
//   --no-shims             disable every shim
//   --no-shim=NAME[,NAME]  disable the named shim(s); may be repeated
//   --no-stdin-watch       do not exit when stdin closes (for manual runs with stdin at /dev/null)
//   --list-shims           print the shim names, one per line, and exit
//   --help                 print this help and exit
//
// Output (exactly one line on stdout once every listener is up):
//   {"http":"http://127.0.0.1:PORT/","https":"https://127.0.0.1:PORT/"}
// A key is omitted when its listener is disabled. Diagnostics go to stderr only.
//
// Shims (all enabled by default; see SHIMS below and README.md): account-locations, pkrange-ids,
// missing-item-404, missing-container-404, error-codes, malformed-path-400, connection-close.
//
// Each listener (HTTP, HTTPS) has its own, independent, in-memory account.
"use strict";

const { createHttpServer, createHttpsServer } = require("@vercel/cosmosdb-server");

const HOST = "127.0.0.1";
// Well above Node's 5 s default so that pooled idle connections survive between test phases.
const KEEP_ALIVE_TIMEOUT_MS = 120 * 1000;
// Must exceed keepAliveTimeout (Node requirement for correct keep-alive behaviour).
const HEADERS_TIMEOUT_MS = KEEP_ALIVE_TIMEOUT_MS + 5 * 1000;

const NOT_FOUND_BODY = {
  code: "NotFound",
  message: "Entity with the specified id does not exist in the system."
};

// Paths are normalised like the server's router does (see normalizePath) and matched
// case-insensitively, like path-to-regexp's default.
const ROOT_RE = /^\/$/;
const PKRANGES_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/pkranges$/i;
const DOC_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/docs\/[^/]+$/i;
const DOCS_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/docs$/i;

/**
 * The shims, by name. A shim may have `onRequest(req, res)`, called before the server's handler;
 * `onError(err, req, res)`, called when the handler throws synchronously, returning true if it
 * answered the request; and/or these three for rewriting response bodies:
 * - `match(req, path)`: whether the response to this request may need rewriting (cheap; only
 *   responses of matching requests are intercepted);
 * - `wants(status)`: whether a response with this status may need rewriting (only such responses
 *   are buffered and parsed as JSON);
 * - `rewrite(ctx)`: may change `ctx.status` and `ctx.body` (the parsed JSON body); returns true if
 *   it changed anything.
 */
const SHIMS = {
  // GET / advertises https://127.0.0.1:PORT/ even on the HTTP listener: point every location at
  // the listener that answered, and add a "Local" location if there is none.
  "account-locations": {
    match: (req, path) => req.method === "GET" && ROOT_RE.test(path),
    wants: status => status === 200,
    rewrite(ctx) {
      if (!isObject(ctx.body)) return false;
      const { endpoint } = ctx.listener;
      for (const key of ["writableLocations", "readableLocations"]) {
        let locations = ctx.body[key];
        if (!Array.isArray(locations) || locations.length === 0) locations = [{}];
        ctx.body[key] = locations.map(loc => {
          const out = isObject(loc) ? { ...loc } : {};
          if (typeof out.name !== "string" || !out.name) out.name = "Local";
          out.databaseAccountEndpoint = endpoint;
          return out;
        });
      }
      return true;
    }
  },

  // GET .../pkranges answers "id": 0; Cosmos DB sends ids as strings.
  "pkrange-ids": {
    match: (req, path) => req.method === "GET" && PKRANGES_RE.test(path),
    wants: status => status === 200,
    rewrite(ctx) {
      if (!isObject(ctx.body) || !Array.isArray(ctx.body.PartitionKeyRanges)) return false;
      let changed = false;
      for (const range of ctx.body.PartitionKeyRanges) {
        if (isObject(range) && typeof range.id === "number") {
          range.id = String(range.id);
          changed = true;
        }
      }
      return changed;
    }
  },

  // A point read (GET) of a missing item, or of an item with another partition key, crashes the
  // server's handler with a TypeError, answered as 500 "Cannot read properties of undefined ...".
  // Answer 404 NotFound as Cosmos DB does. (Replace, patch and delete of a missing item already
  // answer 404.)
  "missing-item-404": {
    match: (req, path) => req.method === "GET" && DOC_RE.test(path),
    wants: status => status === 500,
    rewrite(ctx) {
      if (!isUndefinedPropertyError(ctx.body)) return false;
      ctx.status = 404;
      ctx.body = { ...NOT_FOUND_BODY };
      return true;
    }
  },

  // Creating an item in a missing container (or database) crashes the server's handler with
  // 500 "Cannot read properties of undefined (reading '_rid')". Answer 404 NotFound as Cosmos DB
  // does. (Upsert, query, read-feed and batch on a missing container already answer 404.)
  "missing-container-404": {
    match: (req, path) => req.method === "POST" && DOCS_RE.test(path),
    wants: status => status === 500,
    rewrite(ctx) {
      if (!isUndefinedPropertyError(ctx.body, "_rid")) return false;
      ctx.status = 404;
      ctx.body = { code: "NotFound", message: "Resource Not Found." };
      return true;
    }
  },

  // Several error answers carry no "code" (e.g. 404 `{"message":""}` for a missing database or
  // container, or for a replace/delete of a missing item; 409 `{"message":"conflict"}` for a
  // duplicate database or container). Cosmos DB always sends {"code": ..., "message": ...}: add
  // the code matching the status, and a message when it is empty.
  "error-codes": {
    match: () => true,
    wants: status => status >= 400 && Object.prototype.hasOwnProperty.call(ERROR_CODES, status),
    rewrite(ctx) {
      if (!isObject(ctx.body)) return false;
      const [code, message] = ERROR_CODES[ctx.status];
      let changed = false;
      if (typeof ctx.body.code !== "string" || !ctx.body.code) {
        ctx.body.code = code;
        changed = true;
      }
      if (typeof ctx.body.message !== "string" || !ctx.body.message) {
        ctx.body.message = message;
        changed = true;
      }
      // The server suffixes its NotFound message with a stray ",".
      if (ctx.status === 404 && ctx.body.message === `${NOT_FOUND_BODY.message},`) {
        ctx.body.message = NOT_FOUND_BODY.message;
        changed = true;
      }
      return changed;
    }
  },

  // A malformed percent-escape in the path (e.g. "/dbs/db/colls/c/docs/a%ZZ") makes the router's
  // decodeURIComponent throw synchronously, outside of the server's error handling: the whole
  // process crashes. Answer 400 BadRequest instead, as Cosmos DB does.
  "malformed-path-400": {
    onError(err, req, res) {
      if (!(err instanceof URIError) || res.headersSent) return false;
      res.statusCode = 400;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ code: "BadRequest", message: `Malformed request path: ${err.message}` }));
      return true;
    }
  },

  // With keepAlive the server sets "connection: keep-alive" on every response, which makes Node
  // keep the connection open even when the client asked to close it ("Connection: close", or
  // HTTP/1.0 without keep-alive). Honour the client's choice.
  "connection-close": {
    onRequest(req, res) {
      if (res.shouldKeepAlive) return;
      const setHeader = res.setHeader;
      res.setHeader = function setConnectionAwareHeader(name, value) {
        if (typeof name === "string" && name.toLowerCase() === "connection") value = "close";
        return setHeader.call(this, name, value);
      };
    }
  }
};

const ERROR_CODES = {
  400: ["BadRequest", "One of the specified inputs is invalid."],
  401: ["Unauthorized", "The input authorization token can't serve the request."],
  403: ["Forbidden", "The request is forbidden."],
  404: ["NotFound", NOT_FOUND_BODY.message],
  409: ["Conflict", "Entity with the specified id already exists in the system."],
  412: [
    "PreconditionFailed",
    "Operation cannot be performed because one of the specified precondition is not met."
  ],
  413: ["RequestEntityTooLarge", "The request entity is too large."],
  429: ["TooManyRequests", "Request rate is large."],
  500: ["InternalServerError", "Unknown server error occurred when processing this request."]
};

/**
 * Whether `body` is the server's answer to a TypeError from reading a property of `undefined`
 * (optionally a specific property), i.e. of a resource that does not exist.
 */
function isUndefinedPropertyError(body, property) {
  if (!isObject(body) || typeof body.message !== "string") return false;
  const prefix = "Cannot read properties of undefined";
  return property === undefined
    ? body.message.startsWith(prefix)
    : body.message === `${prefix} (reading '${property}')`;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The header comment of this file (after the shebang line), without the comment markers. */
function usage() {
  const lines = require("fs").readFileSync(__filename, "utf8").split("\n").slice(1);
  const end = lines.findIndex(l => !l.startsWith("//"));
  return lines
    .slice(0, end)
    .map(l => l.replace(/^\/\/ ?/, ""))
    .join("\n");
}

function fail(message) {
  process.stderr.write(`launcher.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { http: true, https: true, disabled: new Set(), watchStdin: true };
  for (const arg of argv) {
    if (arg === "--http-only") {
      opts.https = false;
    } else if (arg === "--https-only") {
      opts.http = false;
    } else if (arg === "--no-shims") {
      Object.keys(SHIMS).forEach(name => opts.disabled.add(name));
    } else if (arg.startsWith("--no-shim=")) {
      for (const name of arg.slice("--no-shim=".length).split(",")) {
        if (!name) continue;
        if (!Object.prototype.hasOwnProperty.call(SHIMS, name)) {
          fail(`unknown shim "${name}" (known: ${Object.keys(SHIMS).join(", ")})`);
        }
        opts.disabled.add(name);
      }
    } else if (arg === "--no-stdin-watch") {
      opts.watchStdin = false;
    } else if (arg === "--list-shims") {
      process.stdout.write(`${Object.keys(SHIMS).join("\n")}\n`);
      process.exit(0);
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else {
      fail(`unknown argument "${arg}" (try --help)`);
    }
  }
  if (!opts.http && !opts.https) fail("--http-only and --https-only are mutually exclusive");
  return opts;
}

/** The request path as the server's router sees it (no query, no doubled or trailing slash). */
function normalizePath(url) {
  let path = url || "/";
  const q = path.indexOf("?");
  if (q !== -1) path = path.slice(0, q);
  if (path.startsWith("//")) path = path.slice(1);
  while (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

/**
 * Buffers the response of `res` (from writeHead/write/end) and, on end, runs the shims over it
 * before sending it with a correct content-length.
 */
function interceptResponse(req, res, listener, shims) {
  const origWriteHead = res.writeHead;
  const origWrite = res.write;
  const origEnd = res.end;
  const chunks = [];

  const toBuffer = (chunk, encoding) =>
    Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8");

  // Turn an explicit writeHead into implicit headers so that they can still be changed.
  res.writeHead = function writeHead(statusCode, reason, headers) {
    if (typeof reason !== "string") {
      headers = reason;
    } else {
      res.statusMessage = reason;
    }
    res.statusCode = statusCode;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    }
    return res;
  };
  res.write = function write(chunk, encoding, cb) {
    if (chunk != null && chunk.length !== 0) chunks.push(toBuffer(chunk, encoding));
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  };
  res.end = function end(chunk, encoding, cb) {
    if (typeof chunk === "function") {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === "function") {
      cb = encoding;
      encoding = undefined;
    }
    res.writeHead = origWriteHead;
    res.write = origWrite;
    res.end = origEnd;
    const wanted = shims.filter(shim => shim.wants(res.statusCode));
    // Fast path (the common case): nothing to rewrite and nothing buffered.
    if (wanted.length === 0 && chunks.length === 0) return origEnd.call(res, chunk, encoding, cb);

    if (chunk != null && chunk.length !== 0) chunks.push(toBuffer(chunk, encoding));
    let raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (wanted.length !== 0 && raw.length !== 0) {
      const ctx = { req, listener, status: res.statusCode, body: undefined };
      let parsed = false;
      try {
        ctx.body = JSON.parse(raw.toString("utf8"));
        parsed = true;
      } catch (_) {
        // Not JSON: leave the response alone.
      }
      let changed = false;
      for (const shim of parsed ? wanted : []) {
        try {
          changed = shim.rewrite(ctx) || changed;
        } catch (err) {
          process.stderr.write(`launcher.js: shim failed: ${err && err.stack}\n`);
        }
      }
      if (changed) {
        res.statusCode = ctx.status;
        raw = Buffer.from(JSON.stringify(ctx.body), "utf8");
        res.setHeader("content-type", "application/json");
      }
    }
    if (!res.headersSent) res.setHeader("content-length", String(raw.length));
    return origEnd.call(res, raw, cb);
  };
}

/** Replaces the server's request listener by one that runs the enabled shims. */
function installShims(server, listener, enabled) {
  if (enabled.length === 0) return;
  const original = server.listeners("request");
  if (original.length !== 1) {
    throw new Error(`expected exactly one request listener, found ${original.length}`);
  }
  const [handler] = original;
  server.removeAllListeners("request");
  server.on("request", (req, res) => {
    const path = normalizePath(req.url);
    const shims = [];
    for (const shim of enabled) {
      if (shim.onRequest) shim.onRequest(req, res);
      if (shim.match && shim.match(req, path)) shims.push(shim);
    }
    if (shims.length !== 0) interceptResponse(req, res, listener, shims);
    try {
      handler.call(server, req, res);
    } catch (err) {
      if (!enabled.some(shim => shim.onError && shim.onError(err, req, res))) throw err;
    }
  });
}

function start(kind, create, enabled) {
  const server = create({ keepAlive: true });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const listener = { kind, endpoint: undefined };
  installShims(server, listener, enabled);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.removeListener("error", reject);
      server.on("error", err => {
        process.stderr.write(`launcher.js: ${kind} server error: ${err && err.stack}\n`);
      });
      const { port } = server.address();
      listener.endpoint = `${kind}://${HOST}:${port}/`;
      resolve({ server, listener });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const enabled = Object.entries(SHIMS)
    .filter(([name]) => !opts.disabled.has(name))
    .map(([, shim]) => shim);

  let exiting = false;
  const exit = (code, why) => {
    if (exiting) return;
    exiting = true;
    if (why) process.stderr.write(`launcher.js: exiting: ${why}\n`);
    // Do not wait for keep-alive connections to drain: the tests are done with the server.
    process.exit(code);
  };
  process.on("SIGTERM", () => exit(0, "SIGTERM"));
  process.on("SIGINT", () => exit(0, "SIGINT"));
  process.on("SIGHUP", () => exit(0, "SIGHUP"));
  if (opts.watchStdin) {
    // The parent keeps our stdin open for as long as it wants the server; when it exits (even by
    // crashing) the pipe closes and so do we.
    process.stdin.on("end", () => exit(0, "stdin closed"));
    process.stdin.on("close", () => exit(0, "stdin closed"));
    process.stdin.on("error", () => exit(0, "stdin error"));
    process.stdin.on("data", () => {});
    process.stdin.resume();
  }
  // If the reader of our stdout goes away, there is nobody left to serve.
  process.stdout.on("error", () => exit(0, "stdout closed"));

  const endpoints = {};
  if (opts.http) endpoints.http = (await start("http", createHttpServer, enabled)).listener.endpoint;
  if (opts.https) {
    endpoints.https = (await start("https", createHttpsServer, enabled)).listener.endpoint;
  }
  process.stdout.write(`${JSON.stringify(endpoints)}\n`);
}

main().catch(err => {
  process.stderr.write(`launcher.js: failed to start: ${err && err.stack}\n`);
  process.exit(1);
});
