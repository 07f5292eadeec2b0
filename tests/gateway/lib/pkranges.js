// The `GET .../pkranges` feed: the collection's current ranges, with an etag that changes on
// every topology change, answering `If-None-Match` with the current etag by 304 (the
// incremental-feed contract the Rust core's pk-range cache relies on; PROTOCOL.md §3).
"use strict";

/** Builds the response for a pkranges request against `topo` ({ranges, version, rid}). */
function pkrangesResponse(topo, headers) {
  const etag = `"${topo.version}"`;
  if (headers["if-none-match"] === etag) return { status: 304, headers: { etag }, body: undefined };
  const PartitionKeyRanges = topo.ranges.map(r => ({
    id: r.id,
    _rid: `${topo.rid}${r.id}`,
    minInclusive: r.minInclusive,
    maxExclusive: r.maxExclusive,
    ridPrefix: Number(r.id),
    throughputFraction: 1 / topo.ranges.length,
    status: "online",
    parents: r.parents.slice(),
    _etag: etag
  }));
  return {
    status: 200,
    headers: { etag, "x-ms-item-count": String(PartitionKeyRanges.length) },
    body: { _rid: topo.rid, PartitionKeyRanges, _count: PartitionKeyRanges.length }
  };
}

module.exports = { pkrangesResponse };
