// Partition key range topology: N ranges over the V2 hash space "" .. "FF" with real EPK bounds,
// string ids, `parents` after splits, and an etag that changes on every topology change.
"use strict";

// The V2 EPK is 32 hex digits (128-bit murmur3, see PROTOCOL.md §3); the service's full range is
// [ "", "FF" ) (PROTOCOL.md §3, the pkranges feed of a one-range container).
const MIN_EPK = "";
const MAX_EPK = "FF";
const EPK_DIGITS = 32;

/**
 * Boundary i of n even splits of the space V2 hashes occupy, as 32 upper-case hex digits.
 * The SDK's `hashV2PartitionKey` masks the first byte with 0x3F (`reverseBuff[0] &= 63` in
 * @azure/cosmos dist/commonjs/utils/hashing/v2.js), so V2 EPKs lie in [0, 2^126): splitting the
 * full 128-bit space would put every key in the first quarter of the ranges. The outer bounds
 * stay "" and "FF" like the service's.
 */
function boundary(i, n) {
  const full = 1n << 126n;
  const v = (full * BigInt(i)) / BigInt(n);
  return v.toString(16).toUpperCase().padStart(EPK_DIGITS, "0");
}

/** Builds the initial ranges for `n` partitions (n ≥ 1), ids "0".."n-1". */
function initialRanges(n) {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--partitions must be an integer >= 1, got ${n}`);
  const ranges = [];
  for (let i = 0; i < n; i++) {
    ranges.push({
      id: String(i),
      minInclusive: i === 0 ? MIN_EPK : boundary(i, n),
      maxExclusive: i === n - 1 ? MAX_EPK : boundary(i + 1, n),
      parents: [],
      store: i
    });
  }
  return ranges;
}

/** Compares EPK strings the way the service does (upper-case hex; "" lowest, "FF" highest). */
function cmpEpk(a, b) {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The range owning `epk` (min ≤ epk < max), or undefined. */
function rangeFor(ranges, epk) {
  return ranges.find(r => cmpEpk(r.minInclusive, epk) <= 0 && cmpEpk(epk, r.maxExclusive) < 0);
}

module.exports = { MIN_EPK, MAX_EPK, boundary, initialRanges, cmpEpk, rangeFor };
