//! Effective partition keys against the SDK-produced vectors, and pk-range routing.
//!
//! `tests/vectors/pk_sample.json` is a verbatim copy of `shared/vectors/pk_sample.json`
//! (python azure-cosmos 4.17.1 and JS @azure/cosmos 4.9.3).
//!
//! Policy (PROTOCOL.md §3): V2 and MultiHash must match every vector (the SDKs agree on all).
//! V1 must match where the SDKs agree; where they disagree we match .NET:
//! * pk-015 (`0`) and pk-024 (`-0.0`): JS drops the final `0x00` chunk of the number encoding;
//!   .NET's `NumberPartitionKeyComponent.WriteForBinaryEncoding` always writes it → Python's value.
//! * pk-021 (`2^53 + 1`): Python hashes ints cast to UInt32; .NET hashes the double as-is → JS's
//!   value. The core refuses to build 2^53 + 1 (not an exact f64), so the vector is checked with
//!   the double JS (and .NET's `Convert.ToDouble`) turns it into, 2^53.
//!
//! `-0.0` (pk-024): its EPK differs from `0`'s in both columns and in .NET (the raw IEEE-754 bits
//! are hashed), and we match.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use sextant_core::models::partition_key::{PartitionKey, PartitionKeyValue};
use sextant_core::models::{PartitionKeyDefinition, PartitionKeyKind};
use sextant_core::partition::{
    effective_partition_key, epk_range_for_prefix, parse_partition_key_ranges,
    EffectivePartitionKey, EpkError, PartitionKeyRange, RoutingMap, RoutingMapError,
};

const PK_VECTORS: &str = include_str!("vectors/pk_sample.json");

/// A component from a type-tagged vector input. Integers are converted as JS and .NET do
/// (to the nearest double), so 2^53 + 1 becomes 2^53 here.
fn component(input: &Value) -> PartitionKeyValue {
    let v = &input["v"];
    match input["t"].as_str().unwrap() {
        "str" => PartitionKeyValue::from(v.as_str().unwrap()),
        "int" => PartitionKeyValue::Number(v.as_str().unwrap().parse::<i64>().unwrap() as f64),
        "float" => PartitionKeyValue::Number(v.as_str().unwrap().parse::<f64>().unwrap()),
        "bool" => PartitionKeyValue::from(v.as_bool().unwrap()),
        "null" => PartitionKeyValue::Null,
        "none" => PartitionKeyValue::Undefined,
        other => panic!("unknown input tag {other}"),
    }
}

fn key(vector: &Value) -> PartitionKey {
    match vector["kind"].as_str().unwrap() {
        "Hash" => PartitionKey::new(component(&vector["input"])).unwrap(),
        "MultiHash" => {
            PartitionKey::hierarchical(vector["input"].as_array().unwrap().iter().map(component))
                .unwrap()
        }
        other => panic!("unknown kind {other}"),
    }
}

fn definition(vector: &Value, version: u8) -> PartitionKeyDefinition {
    match vector["kind"].as_str().unwrap() {
        "Hash" => PartitionKeyDefinition {
            paths: vec!["/pk".to_owned()],
            kind: PartitionKeyKind::Hash,
            version: Some(version),
            ..PartitionKeyDefinition::hash("/pk")
        },
        _ => {
            let n = vector["input"].as_array().unwrap().len();
            PartitionKeyDefinition::hierarchical((0..n).map(|i| format!("/p{i}")))
        }
    }
}

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(PK_VECTORS).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// Where the SDKs disagree on V1, the column that matches .NET.
fn dotnet_v1_column(id: &str) -> &'static str {
    match id {
        "pk-015" | "pk-024" => "python", // .NET keeps the final 0x00 chunk
        "pk-021" => "js",                // .NET hashes the double, not a UInt32 cast
        other => panic!("{other}: undocumented V1 disagreement"),
    }
}

#[test]
fn every_v2_and_multihash_vector_matches() {
    let mut hash = 0;
    let mut multi = 0;
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let Some(expected) = v.get("epk_v2").filter(|e| !e.is_null()) else {
            continue;
        };
        assert!(
            expected["agree"].as_bool().unwrap(),
            "{id}: V2 disagreement"
        );
        let want = expected["python"].as_str().unwrap();
        assert_eq!(want, expected["js"].as_str().unwrap());
        let got = effective_partition_key(&key(&v), &definition(&v, 2)).unwrap();
        assert_eq!(got.as_str(), want, "{id}");
        match v["kind"].as_str().unwrap() {
            "Hash" => hash += 1,
            _ => multi += 1,
        }
    }
    assert_eq!((hash, multi), (13, 3));
}

#[test]
fn every_v1_vector_matches_dotnet() {
    let (mut agreed, mut disagreed) = (0, 0);
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        let Some(expected) = v.get("epk_v1").filter(|e| !e.is_null()) else {
            continue;
        };
        let got = effective_partition_key(&key(&v), &definition(&v, 1)).unwrap();
        let want = if expected["agree"].as_bool().unwrap() {
            agreed += 1;
            expected["python"].as_str().unwrap()
        } else {
            disagreed += 1;
            expected[dotnet_v1_column(id)].as_str().unwrap()
        };
        assert_eq!(got.as_str(), want, "{id}");
    }
    assert_eq!((agreed, disagreed), (10, 3));
}

#[test]
fn an_absent_version_is_v1_as_in_dotnet() {
    let pk = PartitionKey::from("partition-1");
    let mut def = PartitionKeyDefinition::hash("/pk");
    def.version = None;
    assert_eq!(
        effective_partition_key(&pk, &def).unwrap().as_str(),
        "05C1D9A149CBBC08716273756A756A706F2E3200"
    );
}

#[test]
fn negative_zero_hashes_apart_from_zero() {
    let def = PartitionKeyDefinition::hash("/pk");
    let zero = effective_partition_key(&PartitionKey::number(0.0).unwrap(), &def).unwrap();
    let neg = effective_partition_key(&PartitionKey::number(-0.0).unwrap(), &def).unwrap();
    assert_eq!(zero.as_str(), "155B95BEDAC4B1E9EC1CDC9BB0DDDE58");
    assert_eq!(neg.as_str(), "3D018BB1DF3DB27235766E81FD10406E");
}

#[test]
fn v1_null_writes_its_marker_like_dotnet() {
    let mut def = PartitionKeyDefinition::hash("/pk");
    def.version = Some(1);
    let epk = effective_partition_key(&PartitionKey::null(), &def).unwrap();
    // Number-encoded hash, then the 0x01 null marker (.NET and JS; Python omits it).
    assert!(epk.as_str().starts_with("05"));
    assert!(epk.as_str().ends_with("01"), "{epk}");
}

#[test]
fn v1_long_strings_encode_101_bytes_without_terminator() {
    let mut def = PartitionKeyDefinition::hash("/pk");
    def.version = Some(1);
    // 60 two-byte chars: 120 UTF-8 bytes, 60 UTF-16 units (so not truncated).
    let long = "é".repeat(60);
    let epk = effective_partition_key(&PartitionKey::from(long.as_str()), &def).unwrap();
    let hex = epk.as_str();
    let string_part = &hex[hex.find("08C4").unwrap()..];
    assert_eq!(string_part.len(), 2 * (1 + 101), "{hex}");
    assert!(!string_part.ends_with("00"));
    // 100 ASCII bytes exactly: every byte plus the 0x00 terminator.
    let exact = "a".repeat(100);
    let epk = effective_partition_key(&PartitionKey::from(exact.as_str()), &def).unwrap();
    assert!(epk.as_str().ends_with(&format!("08{}00", "62".repeat(100))));
    // Strings beyond 100 UTF-16 units hash and encode only the first 100.
    let longer = format!("{exact}bcd");
    let a = effective_partition_key(&PartitionKey::from(exact.as_str()), &def).unwrap();
    let b = effective_partition_key(&PartitionKey::from(longer.as_str()), &def).unwrap();
    assert_eq!(a, b);
}

#[test]
fn range_partitioning_is_the_unhashed_encoding() {
    let def = PartitionKeyDefinition {
        paths: vec!["/pk".to_owned()],
        kind: PartitionKeyKind::Range,
        version: None,
        ..PartitionKeyDefinition::hash("/pk")
    };
    let epk = effective_partition_key(&PartitionKey::from("ab"), &def).unwrap();
    assert_eq!(epk.as_str(), "08626300");
    let epk = effective_partition_key(&PartitionKey::from(42), &def).unwrap();
    assert_eq!(epk.as_str(), "05C04580");
}

#[test]
fn component_counts_are_checked() {
    let hash = PartitionKeyDefinition::hash("/pk");
    let two = PartitionKey::try_from(("a", "b")).unwrap();
    assert_eq!(
        effective_partition_key(&two, &hash),
        Err(EpkError::TooManyComponents {
            components: 2,
            paths: 1
        })
    );
    let multi = PartitionKeyDefinition::hierarchical(["/a", "/b", "/c"]);
    assert_eq!(
        effective_partition_key(&two, &multi),
        Err(EpkError::PartialHierarchicalKey {
            components: 2,
            paths: 3
        })
    );
    let none = PartitionKeyDefinition {
        paths: vec![],
        kind: PartitionKeyKind::Hash,
        version: Some(2),
        ..PartitionKeyDefinition::hash("/pk")
    };
    assert_eq!(
        effective_partition_key(&PartitionKey::from("a"), &none),
        Err(EpkError::NoPaths)
    );
    let v3 = PartitionKeyDefinition {
        version: Some(3),
        ..PartitionKeyDefinition::hash("/pk")
    };
    assert_eq!(
        effective_partition_key(&PartitionKey::from("a"), &v3),
        Err(EpkError::UnsupportedVersion { version: 3 })
    );
    let hash_two_paths = PartitionKeyDefinition {
        paths: vec!["/a".to_owned(), "/b".to_owned()],
        kind: PartitionKeyKind::Hash,
        version: Some(2),
        ..PartitionKeyDefinition::hash("/pk")
    };
    assert_eq!(
        effective_partition_key(&PartitionKey::from("a"), &hash_two_paths),
        Err(EpkError::TooFewComponents {
            components: 1,
            paths: 2
        })
    );
}

#[test]
fn hierarchical_prefixes_cover_a_range() {
    let def = PartitionKeyDefinition::hierarchical(["/tenant", "/user"]);
    let full = PartitionKey::try_from(("tenant", "user")).unwrap();
    let full_epk = effective_partition_key(&full, &def).unwrap();
    assert_eq!(
        full_epk.as_str(),
        "3B67F777541374F849FC7793DE5DF9150B6EF6150874C10CFFB0A77F53F6B0A3"
    );
    let prefix = PartitionKey::hierarchical([PartitionKeyValue::from("tenant")]).unwrap();
    let range = epk_range_for_prefix(&prefix, &def).unwrap();
    assert_eq!(
        range.min_inclusive().as_str(),
        "3B67F777541374F849FC7793DE5DF915"
    );
    assert_eq!(range.max_exclusive(), "3B67F777541374F849FC7793DE5DF915FF");
    assert!(range.contains(&full_epk));
    let other = PartitionKey::try_from(("other", "user")).unwrap();
    assert!(!range.contains(&effective_partition_key(&other, &def).unwrap()));
    assert_eq!(
        epk_range_for_prefix(&prefix, &PartitionKeyDefinition::hash("/pk")),
        Err(EpkError::NotHierarchical {
            kind: PartitionKeyKind::Hash
        })
    );
}

#[test]
fn epk_strings_are_validated() {
    assert!(EffectivePartitionKey::from_hex("").is_ok());
    assert!(EffectivePartitionKey::from_hex("3FFF").is_ok());
    for bad in ["FF", "FF00", "abc0", "ABC", "0G"] {
        assert!(
            matches!(
                EffectivePartitionKey::from_hex(bad),
                Err(EpkError::InvalidEffectivePartitionKey { .. })
            ),
            "{bad}"
        );
    }
    assert!(EffectivePartitionKey::from_hex("0".repeat(1026)).is_err());
}

// ---- routing ----

fn epk(hex: &str) -> EffectivePartitionKey {
    EffectivePartitionKey::from_hex(hex).unwrap()
}

fn three_ranges() -> RoutingMap {
    RoutingMap::new(vec![
        PartitionKeyRange::new("2", "2AAA", "FF"),
        PartitionKeyRange::new("0", "", "1555"),
        PartitionKeyRange::new("1", "1555", "2AAA"),
    ])
    .unwrap()
}

#[test]
fn routing_finds_the_range_by_binary_search() {
    let map = three_ranges();
    let ids: Vec<_> = map.ranges().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2"]);
    assert_eq!(map.range_for(&epk("")).id, "0");
    assert_eq!(map.range_for(&epk("0000")).id, "0");
    assert_eq!(map.range_for(&epk("1554FF")).id, "0");
    assert_eq!(map.range_for(&epk("1555")).id, "1");
    assert_eq!(map.range_for(&epk("155500")).id, "1");
    assert_eq!(map.range_for(&epk("2AA9")).id, "1");
    assert_eq!(map.range_for(&epk("2AAA")).id, "2");
    assert_eq!(map.range_for(&epk("3FFFFFFF")).id, "2");
    assert_eq!(map.range_for(&epk("FE")).id, "2");
    assert!(map.range_for(&epk("1555")).contains(&epk("1555")));
}

#[test]
fn every_vector_epk_routes_to_the_range_containing_it() {
    let map = three_ranges();
    for v in vectors() {
        if v.get("epk_v2").is_none_or(Value::is_null) {
            continue;
        }
        let e = effective_partition_key(&key(&v), &definition(&v, 2)).unwrap();
        let range = map.range_for(&e);
        assert!(range.contains(&e), "{}", v["id"]);
    }
}

#[test]
fn overlapping_ranges_for_a_prefix() {
    let map = three_ranges();
    let def = PartitionKeyDefinition::hierarchical(["/tenant", "/user"]);
    let prefix = PartitionKey::hierarchical([PartitionKeyValue::from("tenant")]).unwrap();
    let range = epk_range_for_prefix(&prefix, &def).unwrap(); // 3B67…
    let ids: Vec<_> = map
        .ranges_overlapping(&range)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["2"]);
    let spanning = RoutingMap::new(vec![
        PartitionKeyRange::new("0", "", "3B67F777541374F849FC7793DE5DF91580"),
        PartitionKeyRange::new("1", "3B67F777541374F849FC7793DE5DF91580", "FF"),
    ])
    .unwrap();
    let ids: Vec<_> = spanning
        .ranges_overlapping(&range)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["0", "1"]);
}

#[test]
fn tiling_errors_are_typed() {
    assert_eq!(RoutingMap::new(vec![]), Err(RoutingMapError::Empty));
    assert!(matches!(
        RoutingMap::new(vec![PartitionKeyRange::new("0", "00", "FF")]),
        Err(RoutingMapError::DoesNotStartAtMin { .. })
    ));
    assert!(matches!(
        RoutingMap::new(vec![PartitionKeyRange::new("0", "", "80")]),
        Err(RoutingMapError::DoesNotEndAtMax { .. })
    ));
    assert_eq!(
        RoutingMap::new(vec![
            PartitionKeyRange::new("0", "", "40"),
            PartitionKeyRange::new("1", "50", "FF"),
        ]),
        Err(RoutingMapError::Gap {
            before: "0".into(),
            after: "1".into(),
            from: "40".into(),
            to: "50".into()
        })
    );
    assert_eq!(
        RoutingMap::new(vec![
            PartitionKeyRange::new("0", "", "60"),
            PartitionKeyRange::new("1", "50", "FF"),
        ]),
        Err(RoutingMapError::Overlap {
            first: "0".into(),
            second: "1".into()
        })
    );
    assert!(matches!(
        RoutingMap::new(vec![
            PartitionKeyRange::new("0", "", "50"),
            PartitionKeyRange::new("1", "50", "50"),
            PartitionKeyRange::new("2", "50", "FF"),
        ]),
        Err(RoutingMapError::EmptyRange { .. })
    ));
}

#[test]
fn feed_parsing_is_lenient_about_ids_and_parents() {
    let body = br#"{"_rid":"x","PartitionKeyRanges":[
        {"id":"0","minInclusive":"","maxExclusive":"80","parents":[],"_etag":"e","status":"online"},
        {"id":1,"minInclusive":"80","maxExclusive":"FF"}
    ],"_count":2}"#;
    let ranges = parse_partition_key_ranges(body).unwrap();
    assert_eq!(ranges[1].id, "1");
    assert!(ranges[1].parents.is_empty());
    let map = RoutingMap::from_feed(body).unwrap();
    assert_eq!(map.range_for(&epk("90")).id, "1");

    let with_numeric_parents = br#"{"PartitionKeyRanges":[
        {"id":3,"minInclusive":"","maxExclusive":"FF","parents":[0,"1"]}]}"#;
    let ranges = parse_partition_key_ranges(with_numeric_parents).unwrap();
    assert_eq!(ranges[0].parents, ["0", "1"]);

    assert!(matches!(
        parse_partition_key_ranges(b"not json"),
        Err(RoutingMapError::InvalidFeed { .. })
    ));
    assert!(matches!(
        parse_partition_key_ranges(br#"{"Documents":[]}"#),
        Err(RoutingMapError::InvalidFeed { .. })
    ));
    assert_eq!(
        parse_partition_key_ranges(br#"{"PartitionKeyRanges":[{"id":"0","maxExclusive":"FF"}]}"#),
        Err(RoutingMapError::InvalidRange {
            index: 0,
            reason: "\"minInclusive\" is missing or not a string".into()
        })
    );
    assert!(matches!(
        parse_partition_key_ranges(
            br#"{"PartitionKeyRanges":[{"id":1.5,"minInclusive":"","maxExclusive":"FF"}]}"#
        ),
        Err(RoutingMapError::InvalidRange { index: 0, .. })
    ));
}

#[test]
fn a_full_feed_with_split_parents_drops_the_parents() {
    let map = RoutingMap::new(vec![
        PartitionKeyRange::new("0", "", "FF"),
        PartitionKeyRange::new("1", "", "80").with_parents(["0"]),
        PartitionKeyRange::new("2", "80", "FF").with_parents(["0"]),
    ])
    .unwrap();
    let ids: Vec<_> = map.ranges().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
    assert!(map.is_gone("0"));
}

#[test]
fn splits_apply_incrementally() {
    let mut map = three_ranges();
    // Range 1 splits into 3 and 4.
    map.apply_changes(vec![
        PartitionKeyRange::new("3", "1555", "2000").with_parents(["1"]),
        PartitionKeyRange::new("4", "2000", "2AAA").with_parents(["1"]),
    ])
    .unwrap();
    let ids: Vec<_> = map.ranges().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["0", "3", "4", "2"]);
    assert_eq!(map.range_for(&epk("1FFF")).id, "3");
    assert_eq!(map.range_for(&epk("2000")).id, "4");
    assert!(map.range_by_id("1").is_none());
    assert_eq!(map.range_by_id("4").unwrap().parents, ["1"]);
    // A stale copy of the gone parent is ignored.
    map.apply_changes(vec![PartitionKeyRange::new("1", "1555", "2AAA")])
        .unwrap();
    assert!(map.range_by_id("1").is_none());
    // Then 3 splits again; the grandchild lists both ancestors.
    map.apply_changes(vec![
        PartitionKeyRange::new("5", "1555", "1800").with_parents(["1", "3"]),
        PartitionKeyRange::new("6", "1800", "2000").with_parents(["1", "3"]),
    ])
    .unwrap();
    assert_eq!(map.ranges().len(), 5);
    assert_eq!(map.range_for(&epk("17")).id, "5");
}

#[test]
fn an_incomplete_change_leaves_the_map_unchanged() {
    let mut map = three_ranges();
    let before = map.clone();
    // Only one child of the split arrived: a gap.
    let err = map
        .apply_changes(vec![
            PartitionKeyRange::new("3", "1555", "2000").with_parents(["1"])
        ])
        .unwrap_err();
    assert!(matches!(err, RoutingMapError::Gap { .. }), "{err}");
    assert_eq!(map, before);
    // A child overlapping a range that is not its parent.
    let err = map
        .apply_changes(vec![
            PartitionKeyRange::new("9", "1000", "2AAA").with_parents(["1"])
        ])
        .unwrap_err();
    assert!(matches!(err, RoutingMapError::Overlap { .. }), "{err}");
    assert_eq!(map, before);
}
