// The conflicts feed of a container (multi-region-write accounts). The test gateway has one
// write region, so no write ever conflicts: the feed is empty and a conflict id is unknown,
// which is what a single-write account answers.
"use strict";

const CONFLICTS_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/conflicts$/i;
const CONFLICT_RE = /^\/dbs\/[^/]+\/colls\/[^/]+\/conflicts\/([^/]+)$/i;

/** Answers conflicts paths; undefined for others. */
function handle(method, path) {
  if (CONFLICTS_RE.test(path)) {
    if (method !== "GET") return { status: 400, body: { code: "BadRequest", message: `${method} on the conflicts feed is not supported` } };
    return { status: 200, body: { _rid: "", Conflicts: [], _count: 0 } };
  }
  const m = CONFLICT_RE.exec(path);
  if (!m) return undefined;
  if (method !== "GET" && method !== "DELETE") return { status: 400, body: { code: "BadRequest", message: `${method} on a conflict is not supported` } };
  return { status: 404, body: { code: "NotFound", message: `conflict ${decodeURIComponent(m[1])} not found` } };
}

module.exports = { handle };
