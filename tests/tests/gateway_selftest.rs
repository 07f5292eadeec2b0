//! The test gateway routes each item to the range that Sextant's own EPK code predicts: the
//! gateway hashes with the official `@azure/cosmos` package, the prediction uses
//! `sextant_core::partition::effective_partition_key` and the gateway's own `pkranges` feed, so a
//! disagreement between the two implementations fails here.

use sextant_core::models::{PartitionKey, PartitionKeyDefinition, PartitionKeyValue};
use sextant_core::partition::{effective_partition_key, EffectivePartitionKey};
use sextant_tests::gateway::TestGateway;

fn routes_like_the_core(partitions: usize) {
    let gw = TestGateway::start(partitions);
    assert_eq!(gw.http("POST", "/dbs", &[], Some(r#"{"id":"db1"}"#)).0, 201);
    let coll = r#"{"id":"c1","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#;
    assert_eq!(gw.http("POST", "/dbs/db1/colls", &[], Some(coll)).0, 201);
    let (status, feed) = gw.http("GET", "/dbs/db1/colls/c1/pkranges", &[], None);
    assert_eq!(status, 200);
    let ranges = feed["PartitionKeyRanges"]
        .as_array()
        .expect("PartitionKeyRanges")
        .clone();
    assert_eq!(ranges.len(), partitions);

    let def = PartitionKeyDefinition::hash("/pk");
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for i in 0..40 {
        let pk = format!("key-{i}");
        let header = serde_json::json!([pk]).to_string();
        let body = serde_json::json!({ "id": format!("d{i}"), "pk": pk }).to_string();
        let (status, _) = gw.http(
            "POST",
            "/dbs/db1/colls/c1/docs",
            &[("x-ms-documentdb-partitionkey", &header)],
            Some(&body),
        );
        assert_eq!(status, 201, "create d{i}");
        let key = PartitionKey::new(PartitionKeyValue::String(pk)).expect("pk");
        let epk: EffectivePartitionKey = effective_partition_key(&key, &def).expect("epk");
        let owner = ranges
            .iter()
            .find(|r| {
                let min = r["minInclusive"].as_str().unwrap_or_default();
                let max = r["maxExclusive"].as_str().unwrap_or_default();
                min <= epk.as_str() && epk.as_str() < max
            })
            .expect("a range owns every EPK");
        *expected
            .entry(owner["id"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let counts = gw.requests();
    for (id, n) in &expected {
        assert_eq!(
            counts[id]["point"].as_u64(),
            Some(*n),
            "range {id}: {counts}"
        );
    }
    assert!(
        expected.len() > 1,
        "40 keys should spread over several of {partitions} ranges"
    );
}

#[test]
fn three_partitions_route_like_the_core() {
    routes_like_the_core(3);
}

#[test]
fn eight_partitions_route_like_the_core() {
    routes_like_the_core(8);
}

#[test]
fn split_answers_410_1002_then_children() {
    let gw = TestGateway::start(3);
    assert_eq!(gw.http("POST", "/dbs", &[], Some(r#"{"id":"db1"}"#)).0, 201);
    let coll = r#"{"id":"c1","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#;
    assert_eq!(gw.http("POST", "/dbs/db1/colls", &[], Some(coll)).0, 201);
    let (status, body) = gw.split("db1", "c1", "1");
    assert_eq!(status, 200, "{body}");
    let (status, headers, _) = gw.http_full(
        "POST",
        "/dbs/db1/colls/c1/docs",
        &[
            ("x-ms-documentdb-partitionkeyrangeid", "1"),
            ("x-ms-documentdb-isquery", "True"),
        ],
        Some(r#"{"query":"SELECT * FROM c"}"#),
    );
    assert_eq!(status, 410);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "x-ms-substatus" && v == "1002"));
    let (_, feed) = gw.http("GET", "/dbs/db1/colls/c1/pkranges", &[], None);
    let ranges = feed["PartitionKeyRanges"].as_array().expect("ranges");
    let children: Vec<&str> = ranges
        .iter()
        .filter(|r| {
            r["parents"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x == "1"))
        })
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(children, vec!["3", "4"]);
    assert_eq!(
        gw.topology()["collections"]["db1/c1"]["ranges"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}
