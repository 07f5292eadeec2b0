// Effective partition key (EPK) hashing for routing, using the official `@azure/cosmos` package's
// own V2 and MultiHash functions so that the gateway's routing is independent of Sextant's Rust
// code (a bug there cannot be mirrored here).
"use strict";

const path = require("path");

// The SDK's hashing modules are internal (not in its public entry point): require them by path
// inside the installed, pinned package (@azure/cosmos 4.10.1, see package.json); nothing is copied.
const SDK_DIR = path.dirname(require.resolve("@azure/cosmos/package.json"));
const HASHING = path.join(SDK_DIR, "dist", "commonjs", "utils", "hashing");
const { hashV2PartitionKey } = require(path.join(HASHING, "v2.js"));
const { hashMultiHashPartitionKey } = require(path.join(HASHING, "multiHash.js"));

/**
 * EPK of a parsed `x-ms-documentdb-partitionkey` value (a JSON array) for a collection whose
 * partition key definition is `pkDef` (`{paths, kind, version}`).
 * Returns `{epk}` or `{error}` naming the problem (never throws on input).
 */
function epkOf(pkValues, pkDef) {
  if (!Array.isArray(pkValues)) return { error: "x-ms-documentdb-partitionkey must be a JSON array" };
  const kind = (pkDef && pkDef.kind) || "Hash";
  const paths = (pkDef && pkDef.paths) || [];
  if (kind === "MultiHash") {
    if (pkValues.length === 0 || pkValues.length > paths.length) {
      return { error: `x-ms-documentdb-partitionkey has ${pkValues.length} components, the collection has ${paths.length} paths` };
    }
    return { epk: hashMultiHashPartitionKey(pkValues) };
  }
  if (pkValues.length !== 1) {
    return { error: `x-ms-documentdb-partitionkey has ${pkValues.length} components, expected 1` };
  }
  return { epk: hashV2PartitionKey(pkValues) };
}

/** Parses the `x-ms-documentdb-partitionkey` header text; returns `{values}` or `{error}`. */
function parsePkHeader(text) {
  try {
    const values = JSON.parse(text);
    if (!Array.isArray(values)) return { error: "x-ms-documentdb-partitionkey is not a JSON array" };
    return { values };
  } catch (e) {
    return { error: `x-ms-documentdb-partitionkey is not valid JSON: ${e.message}` };
  }
}

module.exports = { epkOf, parsePkHeader, hashV2PartitionKey, hashMultiHashPartitionKey };
