//! `pk_ranges`: [`parse_partition_key_ranges`], [`RoutingMap::new`], [`RoutingMap::apply_changes`]
//! and [`RoutingMap::range_for`].

use serde_json::{Map, Value};

use super::{ensure, ByteReader, Violation};
use sextant_core::partition::{
    epk_range_for_prefix, parse_partition_key_ranges, EffectivePartitionKey, RoutingMap,
    MAX_EXCLUSIVE_EPK, MIN_INCLUSIVE_EPK,
};

const T: &str = "pk_ranges";

/// Range boundaries the structured mode picks from (valid, edge and invalid ones).
const BOUNDS: [&str; 16] = [
    "", "05C1", "0A", "1F", "3F", "3FFF", "7F", "7FFFFFFF", "AA", "BF", "FF", "ff", "G1", "05C1E1",
    "FFFF", "00",
];
/// Most ranges in one structured feed.
const MAX_STRUCTURED: usize = 12;
/// Most EPKs looked up per input.
const MAX_LOOKUPS: usize = 16;

/// Two modes, by the first byte:
/// * `{`: raw mode. The input is split at NUL bytes: a full feed body, a change feed body,
///   then EPK strings to look up.
/// * anything else: structured mode. Ranges (ids, bounds from a small set, parents) are decoded
///   with [`ByteReader`] and serialized as feed JSON, which reaches the map logic far more often.
///
/// Checks: a map that builds tiles `["", "FF")` exactly, holds no range it calls gone, finds
/// every range by id and by its own lower bound, and `range_for` returns a range containing
/// the EPK; a failed `apply_changes` leaves the map unchanged; re-applying the full feed, or a
/// change feed a second time, changes nothing.
pub fn pk_ranges(data: &[u8]) -> Result<(), Violation> {
    let (full, changes, epks) = if data.first() == Some(&b'{') {
        let mut parts = data.split(|b| *b == 0);
        let full = parts.next().unwrap_or_default().to_vec();
        let changes = parts.next().unwrap_or_default().to_vec();
        let epks = parts
            .take(MAX_LOOKUPS)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        (full, changes, epks)
    } else {
        let mut r = ByteReader::new(data);
        let full = structured_feed(&mut r);
        let changes = structured_feed(&mut r);
        let mut epks = Vec::new();
        while !r.is_empty() && epks.len() < MAX_LOOKUPS {
            epks.push(epk_text(&mut r));
        }
        (full, changes, epks)
    };

    let parsed = parse_partition_key_ranges(&full);
    let Ok(ranges) = parsed else {
        ensure!(
            T,
            RoutingMap::from_feed(&full).is_err(),
            "from_feed accepts a feed that does not parse"
        );
        return Ok(());
    };
    let map = RoutingMap::new(ranges);
    ensure!(
        T,
        map == RoutingMap::from_feed(&full),
        "from_feed and new(parse(..)) disagree"
    );
    let Ok(mut map) = map else { return Ok(()) };
    check_map(&map)?;
    lookups(&map, &epks)?;

    // Re-applying the feed a map was built from changes nothing.
    if let Ok(ranges) = parse_partition_key_ranges(&full) {
        let built = map.clone();
        let again = map.apply_changes(ranges);
        ensure!(
            T,
            again.is_ok() && map == built,
            "re-applying the full feed gives {again:?} and a different map"
        );
    }

    if let Ok(changes) = parse_partition_key_ranges(&changes) {
        let before = map.clone();
        match map.apply_changes(changes.clone()) {
            Ok(()) => {
                check_map(&map)?;
                // A change feed page delivered twice (a retried read) changes nothing more.
                let once = map.clone();
                let twice = map.apply_changes(changes);
                ensure!(
                    T,
                    twice.is_ok() && map == once,
                    "applying the same changes twice gives {twice:?} and a different map"
                );
            }
            Err(e) => ensure!(
                T,
                map == before,
                "apply_changes failed ({e}) but changed the map"
            ),
        }
        lookups(&map, &epks)?;
    }
    Ok(())
}

fn check_map(map: &RoutingMap) -> Result<(), Violation> {
    let ranges = map.ranges();
    let (Some(first), Some(last)) = (ranges.first(), ranges.last()) else {
        return Err(Violation::new(T, "a routing map without ranges".into()));
    };
    ensure!(
        T,
        first.min_inclusive == MIN_INCLUSIVE_EPK,
        "first range starts at {:?}",
        first.min_inclusive
    );
    ensure!(
        T,
        last.max_exclusive == MAX_EXCLUSIVE_EPK,
        "last range ends at {:?}",
        last.max_exclusive
    );
    for pair in ranges.windows(2) {
        let [a, b] = pair else { continue };
        ensure!(
            T,
            a.max_exclusive == b.min_inclusive,
            "ranges {} and {} do not meet: {:?} / {:?}",
            a.id,
            b.id,
            a.max_exclusive,
            b.min_inclusive
        );
    }
    for r in ranges {
        ensure!(
            T,
            r.min_inclusive < r.max_exclusive,
            "range {} is empty",
            r.id
        );
        ensure!(
            T,
            !map.is_gone(&r.id),
            "range {} is in the map and gone",
            r.id
        );
        ensure!(
            T,
            map.range_by_id(&r.id) == Some(r),
            "range {} is not found by id",
            r.id
        );
        if let Ok(epk) = EffectivePartitionKey::from_hex(r.min_inclusive.clone()) {
            let found = map.range_for(&epk);
            ensure!(
                T,
                found.id == r.id,
                "the lower bound {:?} of range {} routes to range {}",
                r.min_inclusive,
                r.id,
                found.id
            );
        }
    }
    Ok(())
}

fn lookups(map: &RoutingMap, epks: &[String]) -> Result<(), Violation> {
    for text in epks {
        let Ok(epk) = EffectivePartitionKey::from_hex(text.clone()) else {
            continue;
        };
        let r = map.range_for(&epk);
        ensure!(
            T,
            r.contains(&epk),
            "range_for({epk}) returned range {} [{:?}, {:?})",
            r.id,
            r.min_inclusive,
            r.max_exclusive
        );
        // A prefix range starting at this EPK: every overlapping range really overlaps.
        let pk = sextant_core::models::PartitionKey::from(text.as_str());
        let def = sextant_core::models::PartitionKeyDefinition::hierarchical(["/a", "/b"]);
        if let Ok(range) = epk_range_for_prefix(&pk, &def) {
            for o in map.ranges_overlapping(&range) {
                ensure!(
                    T,
                    o.min_inclusive.as_str() < range.max_exclusive()
                        && range.min_inclusive().as_str() < o.max_exclusive.as_str(),
                    "range {} does not overlap the prefix range of {text:?}",
                    o.id
                );
            }
        }
    }
    Ok(())
}

fn epk_text(r: &mut ByteReader<'_>) -> String {
    if r.bool() {
        return r.pick(&BOUNDS).unwrap_or_default().to_owned();
    }
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::new();
    for &b in r.len_prefixed(16) {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    s
}

/// A feed body: `{"PartitionKeyRanges":[...]}` from structured bytes (or garbage, rarely).
fn structured_feed(r: &mut ByteReader<'_>) -> Vec<u8> {
    let n = r.below(MAX_STRUCTURED + 1);
    let mut list = Vec::with_capacity(n);
    for _ in 0..n {
        let mut range = Map::new();
        let id = r.below(12);
        let id_value = match r.below(8) {
            0 => Value::from(id as u64),
            1 => Value::from(""),
            2 => Value::Null,
            _ => Value::from(id.to_string()),
        };
        range.insert("id".into(), id_value);
        range.insert("minInclusive".into(), Value::from(epk_text(r)));
        range.insert("maxExclusive".into(), Value::from(epk_text(r)));
        let parents = r.u8();
        let list_of_parents: Vec<Value> = (0..8)
            .filter(|bit| parents & (1 << bit) != 0)
            .map(|p| Value::from(p.to_string()))
            .collect();
        if parents != 0 {
            range.insert("parents".into(), Value::from(list_of_parents));
        }
        list.push(Value::Object(range));
    }
    let mut doc = Map::new();
    doc.insert("PartitionKeyRanges".into(), Value::from(list));
    serde_json::to_vec(&Value::Object(doc)).unwrap_or_default()
}
