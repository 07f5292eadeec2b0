//! Session tokens: parsing and formatting, merge semantics (checked against the Java SDK's
//! `SessionTokenTest` cases), errors for malformed input, and the per-container store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sextant_core::session::{
    SessionContainer, SessionToken, SessionTokenError, SessionTokenField, SessionTokenHeader,
    SessionTokenValue, VectorSessionToken, MAX_ENTRIES, MAX_HEADER_LEN,
};

fn v(text: &str) -> SessionTokenValue {
    SessionTokenValue::parse(text).unwrap()
}

fn merge(a: &str, b: &str) -> SessionTokenValue {
    v(a).merge(&v(b)).unwrap()
}

// ---- parsing and formatting ----

#[test]
fn canonical_tokens_round_trip_exactly() {
    for text in [
        "0:-1#12345",
        "0:1#100#1=20#2=5#3=30",
        "0:1#100#3=30#1=20#2=5",
        "12:2#97",
        "7:555",
        "0:-1#9223372036854775807",
        "0:-1#3,1:-1#4,10:2#5#1=7",
    ] {
        let header = SessionTokenHeader::parse(text).unwrap();
        assert_eq!(header.to_string(), text);
        let reparsed: SessionTokenHeader = header.to_string().parse().unwrap();
        assert_eq!(reparsed, header);
    }
    let entry = SessionToken::parse("3:1#100#1=20").unwrap();
    assert_eq!(entry.range_id(), "3");
    assert_eq!(entry.to_string(), "3:1#100#1=20");
}

#[test]
fn parsed_fields() {
    let SessionTokenValue::V2(t) = v("-1#12345") else {
        panic!("V2 expected")
    };
    assert_eq!((t.version(), t.global_lsn()), (-1, 12345));
    assert!(t.regions().is_empty());
    let SessionTokenValue::V2(t) = v("1#100#1=20#2=5") else {
        panic!("V2 expected")
    };
    assert_eq!(t.regions(), &[(1, 20), (2, 5)]);
    assert_eq!(t.local_lsn(2), Some(5));
    assert_eq!(t.local_lsn(9), None);
    assert_eq!(v("42"), SessionTokenValue::V1(42));
    assert_eq!(v("42").global_lsn(), 42);
    let header = SessionTokenHeader::parse("0:1#5,1:1#6").unwrap();
    let ids: Vec<_> = header
        .entries()
        .iter()
        .map(SessionToken::range_id)
        .collect();
    assert_eq!(ids, ["0", "1"]);
}

#[test]
fn region_order_does_not_affect_equality() {
    assert_eq!(v("1#100#1=20#2=5#3=30"), v("1#100#3=30#2=5#1=20"));
    assert_ne!(v("1#100#1=20#2=5"), v("1#100#1=20#2=6"));
    assert_ne!(v("1#100#1=20"), v("1#100#1=20#2=5"));
}

// ---- errors ----

fn header_err(text: &str) -> SessionTokenError {
    SessionTokenHeader::parse(text).unwrap_err()
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert_eq!(header_err(""), SessionTokenError::Empty);
    assert_eq!(
        header_err("0-1#5"),
        SessionTokenError::MissingColon {
            entry: 0,
            found: "0-1#5".into()
        }
    );
    assert_eq!(
        header_err(":1#5"),
        SessionTokenError::EmptyRangeId { entry: 0 }
    );
    assert_eq!(
        header_err("0:1#5,,1:1#6"),
        SessionTokenError::EmptyEntry { entry: 1 }
    );
    assert_eq!(
        header_err("0:1#5,"),
        SessionTokenError::EmptyEntry { entry: 1 }
    );
    assert_eq!(
        header_err("0:1#5,1:abc"),
        SessionTokenError::InvalidNumber {
            entry: 1,
            field: SessionTokenField::Lsn,
            found: "abc".into()
        }
    );
    assert_eq!(
        header_err("0:"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::Lsn,
            found: "".into()
        }
    );
    assert_eq!(
        header_err("0:foo#100#1=20"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::Version,
            found: "foo".into()
        }
    );
    assert_eq!(
        header_err("0:1#foo"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::GlobalLsn,
            found: "foo".into()
        }
    );
    assert_eq!(
        header_err("0:1#"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::GlobalLsn,
            found: "".into()
        }
    );
    assert_eq!(
        header_err("0:1#100#1=20#2=x#3=30"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::LocalLsn { segment: 1 },
            found: "x".into()
        }
    );
    assert_eq!(
        header_err("0:1#100#-1=20"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::RegionId { segment: 0 },
            found: "-1".into()
        }
    );
    assert_eq!(
        header_err("0:1#100#4294967296=20"),
        SessionTokenError::InvalidNumber {
            entry: 0,
            field: SessionTokenField::RegionId { segment: 0 },
            found: "4294967296".into()
        }
    );
    assert_eq!(
        header_err("0:1#100#1=20#bad"),
        SessionTokenError::MalformedRegion {
            entry: 0,
            segment: 1,
            found: "bad".into()
        }
    );
    assert_eq!(
        header_err("0:1#100#1=20#1=30"),
        SessionTokenError::DuplicateRegion {
            entry: 0,
            region: 1
        }
    );
    // Java's "1;100#1=20#2=40" (wrong separator) fails on the version.
    assert!(matches!(
        header_err("0:1;100#1=20#2=40"),
        SessionTokenError::InvalidNumber {
            field: SessionTokenField::Version,
            ..
        }
    ));
    // No sign, space or overflow tolerated.
    for bad in [
        "0:+5",
        "0: 5",
        "0:5 ",
        "0:9223372036854775808",
        "0:--5",
        "0:-",
    ] {
        assert!(
            matches!(header_err(bad), SessionTokenError::InvalidNumber { .. }),
            "{bad}"
        );
    }
    // Messages name the entry and field.
    let message = header_err("0:1#5,1:1#100#1=x").to_string();
    assert!(
        message.contains("entry 1") && message.contains("local LSN"),
        "{message}"
    );
}

#[test]
fn input_is_bounded() {
    let many = vec!["0:1#5"; MAX_ENTRIES + 1].join(",");
    assert_eq!(
        header_err(&many),
        SessionTokenError::TooManyEntries { max: MAX_ENTRIES }
    );
    let ok = vec!["0:1#5"; MAX_ENTRIES].join(",");
    assert_eq!(
        SessionTokenHeader::parse(&ok).unwrap().entries().len(),
        MAX_ENTRIES
    );
    let long = format!("0:1#{}", "1".repeat(MAX_HEADER_LEN));
    assert!(matches!(
        header_err(&long),
        SessionTokenError::TooLong { .. }
    ));
    assert!(matches!(
        SessionToken::parse(&long),
        Err(SessionTokenError::TooLong { .. })
    ));
    let regions: String = (0..300).map(|i| format!("#{i}=1")).collect();
    assert!(matches!(
        header_err(&format!("0:1#5{regions}")),
        SessionTokenError::TooManyRegions { .. }
    ));
    assert!(matches!(
        SessionToken::new("a,b", v("5")),
        Err(SessionTokenError::InvalidRangeId { .. })
    ));
    assert_eq!(
        SessionToken::new("", v("5")),
        Err(SessionTokenError::EmptyRangeId { entry: 0 })
    );
    assert!(matches!(
        VectorSessionToken::new(1, 2, vec![(1, 1), (1, 2)]),
        Err(SessionTokenError::DuplicateRegion { region: 1, .. })
    ));
}

// ---- merge ----

#[test]
fn same_version_takes_the_max_of_everything() {
    // Java SessionTokenTest.validateSessionTokenComparison.
    assert_eq!(
        merge("1#100#1=20#2=5#3=30", "1#100#1=10#2=8#3=30"),
        v("1#100#1=20#2=8#3=30")
    );
    assert_eq!(
        merge("1#100#1=20#2=5#3=30", "1#102#1=100#2=8#3=30"),
        v("1#102#2=8#3=30#1=100")
    );
    // validateSessionTokenMergeDuringFalseProgress, no failover.
    assert_eq!(
        merge("1#100#1=20#2=5", "1#197#1=20#2=5").to_string(),
        "1#197#1=20#2=5"
    );
    assert_eq!(
        merge("1#100#1=20#2=5", "1#197#1=23#2=15").to_string(),
        "1#197#1=23#2=15"
    );
    assert_eq!(merge("-1#5", "-1#9"), v("-1#9"));
}

#[test]
fn a_higher_version_wins_with_its_own_global_lsn() {
    // False-progress protection (Java default): after a failover the new version's global LSN
    // may be lower; max() would invent progress that never happened in the new topology.
    assert_eq!(
        merge("1#100#1=20#2=5", "2#97#1=20#2=5").to_string(),
        "2#97#1=20#2=5"
    );
    assert_eq!(
        merge("2#97#1=20#2=5", "1#100#1=20#2=5").to_string(),
        "2#97#1=20#2=5"
    );
    // The higher version's region set; max where both have a region.
    assert_eq!(
        merge("1#100#1=20#2=5#3=30", "2#105#4=10#2=5#3=30"),
        v("2#105#2=5#3=30#4=10")
    );
    assert_eq!(merge("1#500#1=100", "2#200#1=50"), v("2#200#1=100"));
    assert_eq!(merge("1#100#1=10#2=20", "2#50#1=5"), v("2#50#1=10"));
    assert_eq!(merge("5#1", "-1#1000"), v("5#1"));
}

#[test]
fn merge_is_commutative() {
    let pairs = [
        ("1#100#1=20#2=5#3=30", "1#100#1=10#2=8#3=30"),
        ("1#100#1=20#2=5", "2#97#1=20#2=5"),
        ("1#100#1=20#2=5#3=30", "2#105#4=10#2=5#3=30"),
        ("7", "3"),
    ];
    for (a, b) in pairs {
        assert_eq!(merge(a, b), merge(b, a), "{a} / {b}");
    }
}

#[test]
fn v1_tokens_merge_by_max() {
    assert_eq!(merge("5", "7"), v("7"));
    assert_eq!(merge("9", "7"), v("9"));
    assert!(v("9").is_as_recent_as(&v("7")).unwrap());
    assert!(!v("5").is_as_recent_as(&v("7")).unwrap());
}

#[test]
fn inconsistent_tokens_do_not_merge() {
    // Java invalidRegionsInSessionTokenTests / mergeWithInvalidToken.
    for (a, b) in [
        ("1#100#1=20#2=5#3=30", "1#100#1=20#2=5"),
        ("1#100#1=20#2=5#3=30", "1#100#4=20#5=5#6=6"),
        ("1#101#1=20#2=5#3=30", "1#100#1=20#2=5#3=30#4=40"),
    ] {
        assert_eq!(
            v(a).merge(&v(b)),
            Err(SessionTokenError::RegionMismatch {
                left: a.into(),
                right: b.into()
            })
        );
        assert!(matches!(
            v(b).is_as_recent_as(&v(a)),
            Err(SessionTokenError::RegionMismatch { .. })
        ));
    }
    assert!(matches!(
        v("5").merge(&v("1#5")),
        Err(SessionTokenError::FormatMismatch { .. })
    ));
    assert!(matches!(
        v("1#5").is_as_recent_as(&v("5")),
        Err(SessionTokenError::FormatMismatch { .. })
    ));
}

#[test]
fn recency_comparison() {
    let recent = |a: &str, b: &str| v(a).is_as_recent_as(&v(b)).unwrap();
    // Java: token1.isValid(token2) == token2.is_as_recent_as(token1).
    assert!(recent("2#105#4=10#2=5#3=30", "1#100#1=20#2=5#3=30"));
    assert!(!recent("1#100#1=20#2=5#3=30", "2#105#4=10#2=5#3=30"));
    assert!(!recent("1#100#1=10#2=8#3=30", "1#100#1=20#2=5#3=30"));
    assert!(!recent("1#100#1=20#2=5#3=30", "1#100#1=10#2=8#3=30"));
    assert!(recent("1#102#1=100#2=8#3=30", "1#100#1=20#2=5#3=30"));
    assert!(!recent("1#100#1=20#2=5#3=30", "1#102#1=100#2=8#3=30"));
    // A new version is as recent even with a lower global LSN (false-progress semantics).
    assert!(recent("2#97#1=20#2=5", "1#100#1=20#2=5"));
    assert!(!recent("1#97#1=20#2=5", "1#100#1=20#2=5"));
    assert!(recent("1#100#1=20", "1#100#1=20"));
}

#[test]
fn local_token_merges_the_range_and_its_parents() {
    let header = SessionTokenHeader::parse("0:1#5,1:1#9,2:1#7,3:1#100").unwrap();
    assert_eq!(
        header.local_token("2", &["0", "1"]).unwrap(),
        Some(v("1#9"))
    );
    assert_eq!(header.local_token("3", &[]).unwrap(), Some(v("1#100")));
    assert_eq!(header.local_token("4", &[]).unwrap(), None);
}

// ---- the store ----

const C: &str = "dbs/db/colls/c";

#[test]
fn capture_then_lookup() {
    let mut store = SessionContainer::new();
    assert_eq!(store.token_for(C, None), None);
    store.capture(C, "0:-1#10").unwrap();
    store.capture(C, "1:-1#4").unwrap();
    store.capture(C, "0:-1#7").unwrap(); // older: merge keeps 10
    assert_eq!(store.token_for(C, Some("0")).as_deref(), Some("0:-1#10"));
    assert_eq!(store.token_for(C, Some("1")).as_deref(), Some("1:-1#4"));
    assert_eq!(store.token_for(C, Some("9")), None);
    assert_eq!(store.token_for(C, None).as_deref(), Some("0:-1#10,1:-1#4"));
    assert_eq!(store.token(C, "0"), Some(&v("-1#10")));
    // Links are normalized; other containers are separate.
    assert_eq!(
        store.token_for("/dbs/db/colls/c/", Some("0")).as_deref(),
        Some("0:-1#10")
    );
    assert_eq!(store.token_for("dbs/db/colls/other", Some("0")), None);
    // A header with several entries is merged entry by entry.
    store.capture(C, "0:-1#12,1:-1#3,2:-1#1").unwrap();
    assert_eq!(
        store.token_for(C, None).as_deref(),
        Some("0:-1#12,1:-1#4,2:-1#1")
    );
}

#[test]
fn capture_applies_false_progress_protection() {
    let mut store = SessionContainer::new();
    store.capture(C, "0:1#100#1=20#2=5").unwrap();
    store.capture(C, "0:2#97#1=20#2=5").unwrap();
    assert_eq!(
        store.token_for(C, Some("0")).as_deref(),
        Some("0:2#97#1=20#2=5")
    );
    store.capture(C, "0:1#150#1=20#2=5").unwrap(); // stale version: ignored
    assert_eq!(
        store.token_for(C, Some("0")).as_deref(),
        Some("0:2#97#1=20#2=5")
    );
}

#[test]
fn a_bad_header_changes_nothing() {
    let mut store = SessionContainer::new();
    store.capture(C, "0:-1#10").unwrap();
    assert!(store.capture(C, "0:-1#20,1:oops").is_err());
    assert_eq!(store.token_for(C, None).as_deref(), Some("0:-1#10"));
    assert_eq!(store.capture(C, ""), Err(SessionTokenError::Empty));
}

#[test]
fn a_conflicting_token_replaces_the_stored_one_and_is_reported() {
    let mut store = SessionContainer::new();
    store.capture(C, "0:1#100#1=20#2=5,1:5").unwrap();
    let err = store.capture(C, "0:1#101#1=20,1:1#6,2:1#1").unwrap_err();
    assert!(
        matches!(err, SessionTokenError::RegionMismatch { .. }),
        "{err}"
    );
    // Every entry was applied: the conflicting ones replaced, the new one added.
    assert_eq!(
        store.token_for(C, None).as_deref(),
        Some("0:1#101#1=20,1:1#6,2:1#1")
    );
}

#[test]
fn after_a_split_the_nearest_parents_token_is_used() {
    let mut store = SessionContainer::new();
    store.capture(C, "0:-1#50,1:-1#70").unwrap();
    // Range 4 was split from 1, which was split from 0: parents oldest first.
    assert_eq!(
        store
            .token_for_range_with_parents(C, "4", &["0", "1"])
            .as_deref(),
        Some("4:-1#70")
    );
    assert_eq!(
        store
            .token_for_range_with_parents(C, "4", &["0", "3"])
            .as_deref(),
        Some("4:-1#50")
    );
    assert_eq!(
        store.token_for_range_with_parents(C, "4", &["2", "3"]),
        None
    );
    assert_eq!(store.token_for_range_with_parents(C, "4", &[]), None);
    // Once the child has its own token it wins.
    store.capture(C, "4:-1#71").unwrap();
    assert_eq!(
        store
            .token_for_range_with_parents(C, "4", &["0", "1"])
            .as_deref(),
        Some("4:-1#71")
    );
    assert_eq!(
        store.token_for_range_with_parents("dbs/x/colls/y", "4", &["0"]),
        None
    );
}

#[test]
fn the_store_is_bounded_and_evicts_the_oldest_inserted() {
    let mut store = SessionContainer::with_limits(2, 3);
    store.capture("dbs/d/colls/a", "0:1").unwrap();
    store.capture("dbs/d/colls/b", "0:2").unwrap();
    store.capture("dbs/d/colls/a", "0:3").unwrap(); // an update does not refresh insertion order
    store.capture("dbs/d/colls/c", "0:4").unwrap();
    assert_eq!(store.container_count(), 2);
    assert_eq!(store.token_for("dbs/d/colls/a", None), None);
    assert_eq!(
        store.token_for("dbs/d/colls/b", None).as_deref(),
        Some("0:2")
    );
    assert_eq!(
        store.token_for("dbs/d/colls/c", None).as_deref(),
        Some("0:4")
    );

    store.capture(C, "0:1,1:1,2:1").unwrap();
    store.capture(C, "3:1").unwrap();
    assert_eq!(store.range_count(C), 3);
    assert_eq!(store.token_for(C, None).as_deref(), Some("1:1,2:1,3:1"));

    assert!(store.remove_container(C));
    assert!(!store.remove_container(C));
    assert_eq!(store.token_for(C, None), None);
    // A removed container no longer counts towards eviction order.
    store.capture("dbs/d/colls/e", "0:5").unwrap();
    assert_eq!(store.container_count(), 2);
    assert_eq!(
        store.token_for("dbs/d/colls/c", None).as_deref(),
        Some("0:4")
    );
}
