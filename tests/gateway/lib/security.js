// Users, permissions and resource tokens (PROTOCOL.md §10.3), which the plain server has no
// routes for. Users and permissions are plain documents kept here; every permission answer
// carries a freshly minted `_token` (`type=resource&ver=1.0&sig=…`) that lives
// `x-ms-documentdb-expiry-seconds` (default 3600, 600..86400 accepted, like the service). A request
// whose `authorization` is a resource token is checked like the service does: the token must
// exist and not be expired (else 401), and cover the request (else 403): the resource link is
// the permission's resource or below it, a Read permission allows only reads and queries, and a
// permission narrowed to a partition key allows only requests for that key.
"use strict";

const crypto = require("crypto");

const USERS_RE = /^\/dbs\/([^/]+)\/users$/i;
const USER_RE = /^\/dbs\/([^/]+)\/users\/([^/]+)$/i;
const PERMS_RE = /^\/dbs\/([^/]+)\/users\/([^/]+)\/permissions$/i;
const PERM_RE = /^\/dbs\/([^/]+)\/users\/([^/]+)\/permissions\/([^/]+)$/i;
const DEFAULT_EXPIRY_S = 3600;
const AAD_LOG_MAX = 2000;

function createSecurity(clock = () => Date.now()) {
  return { users: new Map(), perms: new Map(), tokens: new Map(), next: 1, clock, denied: [], aad: [] };
}

const err = (status, code, message) => ({ status, body: { code, message } });

function parse(body) {
  try {
    return { v: JSON.parse(body || "") };
  } catch (e) {
    return { error: `body is not JSON: ${e.message}` };
  }
}

function stamp(s, doc, self) {
  const rid = `R${String(s.next++).padStart(3, "0")}`;
  return { ...doc, _rid: rid, _self: self, _etag: `"${rid}"`, _ts: Math.floor(s.clock() / 1000) };
}

/** A permission as answered: with a freshly minted token. */
function withToken(s, p, h) {
  const raw = h["x-ms-documentdb-expiry-seconds"];
  const expiry = raw === undefined ? DEFAULT_EXPIRY_S : Number(raw);
  if (!Number.isInteger(expiry) || expiry < 600 || expiry > 86400) return { error: `x-ms-documentdb-expiry-seconds ${raw} must be 600..86400` };
  const token = `type=resource&ver=1.0&sig=${crypto.randomBytes(18).toString("base64")}`;
  s.tokens.set(token, { key: p.key, expiresAt: s.clock() + expiry * 1000 });
  return { doc: { ...p.doc, _token: token } };
}

const dec = x => decodeURIComponent(x);

/** Handles users and permissions paths; undefined for other paths. */
function handle(s, method, path, h) {
  return (body) => {
    let m;
    const upsert = String(h["x-ms-documentdb-is-upsert"] || "").toLowerCase() === "true";
    if ((m = USERS_RE.exec(path))) {
      const db = dec(m[1]);
      if (method === "GET") {
        const users = [...s.users.entries()].filter(([k]) => k.startsWith(`${db}/`)).map(([, u]) => u);
        return { status: 200, body: { _rid: "", Users: users, _count: users.length } };
      }
      if (method === "POST") {
        const b = parse(body);
        if (b.error || typeof (b.v && b.v.id) !== "string") return err(400, "BadRequest", b.error || "a user needs an id");
        const key = `${db}/${b.v.id}`;
        const had = s.users.get(key);
        if (had && !upsert) return err(409, "Conflict", `user ${b.v.id} already exists`);
        const doc = stamp(s, { id: b.v.id }, `dbs/${db}/users/${b.v.id}/`);
        s.users.set(key, doc);
        return { status: had ? 200 : 201, body: doc };
      }
      return err(400, "BadRequest", `${method} on a user feed is not supported`);
    }
    if ((m = USER_RE.exec(path))) {
      const key = `${dec(m[1])}/${dec(m[2])}`;
      const u = s.users.get(key);
      if (!u) return err(404, "NotFound", `user ${dec(m[2])} not found`);
      if (method === "GET") return { status: 200, body: u };
      if (method === "DELETE") {
        s.users.delete(key);
        for (const k of [...s.perms.keys()]) if (k.startsWith(`${key}/`)) s.perms.delete(k);
        return { status: 204 };
      }
      if (method === "PUT") {
        const b = parse(body);
        if (b.error || typeof (b.v && b.v.id) !== "string") return err(400, "BadRequest", b.error || "a user needs an id");
        const newKey = `${dec(m[1])}/${b.v.id}`;
        const doc = { ...u, id: b.v.id, _self: `dbs/${dec(m[1])}/users/${b.v.id}/` };
        s.users.delete(key);
        s.users.set(newKey, doc);
        return { status: 200, body: doc };
      }
      return err(400, "BadRequest", `${method} on a user is not supported`);
    }
    if ((m = PERMS_RE.exec(path))) {
      const userKey = `${dec(m[1])}/${dec(m[2])}`;
      if (!s.users.has(userKey)) return err(404, "NotFound", `user ${dec(m[2])} not found`);
      if (method === "GET") {
        const out = [];
        for (const [k, p] of s.perms) {
          if (!k.startsWith(`${userKey}/`)) continue;
          const t = withToken(s, { key: k, doc: p }, h);
          if (t.error) return err(400, "BadRequest", t.error);
          out.push(t.doc);
        }
        return { status: 200, body: { _rid: "", Permissions: out, _count: out.length } };
      }
      if (method === "POST") {
        const b = parse(body);
        const p = b.v || {};
        if (b.error || typeof p.id !== "string" || typeof p.resource !== "string" || !["Read", "All"].includes(p.permissionMode)) {
          return err(400, "BadRequest", b.error || "a permission needs id, resource and permissionMode Read|All");
        }
        const key = `${userKey}/${p.id}`;
        const had = s.perms.get(key);
        if (had && !upsert) return err(409, "Conflict", `permission ${p.id} already exists`);
        const doc = stamp(s, { id: p.id, permissionMode: p.permissionMode, resource: p.resource, ...(p.resourcePartitionKey !== undefined ? { resourcePartitionKey: p.resourcePartitionKey } : {}) }, `dbs/${userKey.replace("/", "/users/")}/permissions/${p.id}/`);
        const t = withToken(s, { key, doc }, h);
        if (t.error) return err(400, "BadRequest", t.error);
        s.perms.set(key, doc);
        return { status: had ? 200 : 201, body: t.doc };
      }
      return err(400, "BadRequest", `${method} on a permission feed is not supported`);
    }
    if ((m = PERM_RE.exec(path))) {
      const key = `${dec(m[1])}/${dec(m[2])}/${dec(m[3])}`;
      const p = s.perms.get(key);
      if (!p) return err(404, "NotFound", `permission ${dec(m[3])} not found`);
      if (method === "DELETE") {
        s.perms.delete(key);
        for (const [t, v] of [...s.tokens]) if (v.key === key) s.tokens.delete(t);
        return { status: 204 };
      }
      let doc = p;
      if (method === "PUT") {
        const b = parse(body);
        const q = b.v || {};
        if (b.error || q.id !== p.id || typeof q.resource !== "string" || !["Read", "All"].includes(q.permissionMode)) {
          return err(400, "BadRequest", b.error || "a permission replace keeps its id and needs resource and permissionMode");
        }
        doc = { ...p, permissionMode: q.permissionMode, resource: q.resource, resourcePartitionKey: q.resourcePartitionKey };
        if (doc.resourcePartitionKey === undefined) delete doc.resourcePartitionKey;
        s.perms.set(key, doc);
      } else if (method !== "GET") return err(400, "BadRequest", `${method} on a permission is not supported`);
      const t = withToken(s, { key, doc }, h);
      if (t.error) return err(400, "BadRequest", t.error);
      return { status: 200, body: t.doc };
    }
    return undefined;
  };
}

/** The name-based link a request addresses (no leading or trailing slash, ids decoded). */
function linkOf(path) {
  return path.replace(/^\/+|\/+$/g, "").split("/").map(dec).join("/");
}

/**
 * Checks a resource-token request. Returns undefined when the request may proceed (not a
 * resource token, or a covering one), else the 401/403 answer.
 */
function authorize(s, method, path, h, isQuery) {
  let auth = h.authorization;
  if (typeof auth !== "string") return undefined;
  try {
    auth = decodeURIComponent(auth);
  } catch (e) {
    return err(401, "Unauthorized", "the authorization header is not URL-encoded correctly");
  }
  if (auth.startsWith("type=aad")) {
    // Entra ID tokens are not checked (the plain server accepts any signature); the last
    // AAD_LOG_MAX are kept so a test can see which token each request carried.
    s.aad.push({ method, path, token: auth.slice(auth.indexOf("sig=") + 4) });
    if (s.aad.length > AAD_LOG_MAX) s.aad.shift();
    return undefined;
  }
  if (!auth.startsWith("type=resource")) return undefined;
  const t = s.tokens.get(auth);
  if (!t) return err(401, "Unauthorized", "unknown resource token");
  if (t.expiresAt <= s.clock()) return err(401, "Unauthorized", "the resource token has expired");
  if (path === "/" && method === "GET") return undefined;
  const p = s.perms.get(t.key);
  if (!p) return err(401, "Unauthorized", "the permission of this resource token was deleted");
  const deny = why => {
    s.denied.push({ method, path, why });
    return err(403, "Forbidden", `the resource token does not allow this request: ${why}`);
  };
  const link = linkOf(path);
  const scope = String(p.resource).replace(/^\/+|\/+$/g, "");
  const covered = link === scope || link.startsWith(`${scope}/`);
  if (!covered) return deny(`${link} is outside ${scope}`);
  const read = method === "GET" || (method === "POST" && isQuery);
  if (p.permissionMode === "Read" && !read) return deny(`a Read permission does not allow ${method}`);
  if (p.resourcePartitionKey !== undefined && covered && /\/docs(\/|$)/.test(link)) {
    const want = JSON.stringify(p.resourcePartitionKey);
    const got = h["x-ms-documentdb-partitionkey"];
    let same = false;
    try {
      same = got !== undefined && JSON.stringify(JSON.parse(got)) === want;
    } catch (e) {
      same = false;
    }
    if (!same) return deny(`the permission is limited to partition key ${want}`);
  }
  return undefined;
}

module.exports = { createSecurity, handle, authorize };
