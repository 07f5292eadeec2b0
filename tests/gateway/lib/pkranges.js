// The `GET .../pkranges` feed: the collection's current ranges, with an etag that changes on
// every topology change, answering `If-None-Match` with the current etag by 304 (the
// incremental-feed contract the Rust core's pk-range cache relies on; PROTOCOL.md §3).
"use strict";

/**
 * Builds the response for a pkranges request against `topo` ({ranges, version, rid}). With
 * `pageSize` (> 0) the feed is paged like the service pages it: `x-ms-continuation` names the
 * next page (an index here), absent on the last page.
 */
function pkrangesResponse(topo, headers, pageSize) {
  const etag = `"${topo.version}"`;
  if (headers["if-none-match"] === etag) return { status: 304, headers: { etag }, body: undefined };
  const from = Number(headers["x-ms-continuation"] || 0);
  if (!Number.isInteger(from) || from < 0 || from > topo.ranges.length) {
    return { status: 400, body: { code: "BadRequest", message: `x-ms-continuation ${headers["x-ms-continuation"]} is not a page of this range feed` } };
  }
  const to = pageSize > 0 ? Math.min(topo.ranges.length, from + pageSize) : topo.ranges.length;
  const PartitionKeyRanges = topo.ranges.slice(from, to).map(r => ({
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
  const h = { etag, "x-ms-item-count": String(PartitionKeyRanges.length) };
  if (to < topo.ranges.length) h["x-ms-continuation"] = String(to);
  return {
    status: 200,
    headers: h,
    body: { _rid: topo.rid, PartitionKeyRanges, _count: PartitionKeyRanges.length }
  };
}

module.exports = { pkrangesResponse };
