//! ReadMany (issue 12) against the multi-partition test gateway, on every transport: 1,000 keys
//! over 8 ranges come back in the order given, missing keys reported as missing, with at most
//! one request per range touched (a point read where a range holds one key).

mod support;

use serde_json::{json, Value};
use sextant_core::models::{AccountReference, ContainerReference, PartitionKey};
use sextant_core::{CosmosOperation, ErrorKind, OperationOptions, ReadManyResponse};
use sextant_tests::gateway::TestGateway;
use sextant_tests::scenarios::{create_database_and_container, create_items, Client};
use sextant_tests::server::EMULATOR_KEY;
use support::query_clients::{QueryClient, ALL};

const ITEMS: usize = 1_200;

fn doc(n: usize) -> Value {
    json!({"id": format!("i{n}"), "pk": format!("p{}", n % 97), "n": n})
}

/// Per-range document requests since the last reset: (queries, point reads, ranges touched).
fn document_requests(g: &TestGateway) -> (u64, u64, usize) {
    let counts = g.requests();
    let mut queries = 0;
    let mut points = 0;
    let mut ranges = 0;
    for (range, kinds) in counts.as_object().into_iter().flatten() {
        if range == "all" {
            continue;
        }
        let q = kinds["query"].as_u64().unwrap_or(0);
        let p = kinds["point"].as_u64().unwrap_or(0);
        queries += q;
        points += p;
        if q + p > 0 {
            ranges += 1;
        }
    }
    (queries, points, ranges)
}

/// The id of the gateway range holding partition key `pk` of `c`.
fn range_of(g: &TestGateway, c: &ContainerReference, pk: &str) -> String {
    use sextant_core::models::PartitionKeyDefinition;
    let epk = sextant_core::partition::effective_partition_key(
        &PartitionKey::from(pk),
        &PartitionKeyDefinition::hash("/pk"),
    )
    .unwrap();
    let key = format!("{}/{}", c.database().name(), c.name());
    let topology = g.topology();
    let ranges = topology["collections"][key.as_str()]["ranges"]
        .as_array()
        .unwrap()
        .clone();
    ranges
        .iter()
        .find(|r| {
            let min = r["minInclusive"].as_str().unwrap();
            let max = r["maxExclusive"].as_str().unwrap();
            min <= epk.as_str() && (max == "FF" || epk.as_str() < max)
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .unwrap()
}

fn read_many(
    client: &QueryClient,
    c: &ContainerReference,
    keys: &[(String, String)],
) -> ReadManyResponse {
    let op = CosmosOperation::read_many(
        c.clone(),
        keys.iter()
            .map(|(id, pk)| (id.clone(), PartitionKey::from(pk.as_str()))),
    );
    let r = client
        .execute(op, OperationOptions::new())
        .unwrap_or_else(|e| panic!("read many: {e}"));
    ReadManyResponse::from_response(&r, keys.len()).unwrap()
}

#[test]
fn read_many_returns_items_in_order_with_one_request_per_range_on_every_transport() {
    let g = TestGateway::start(8);
    let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
    let loader = QueryClient::new(ALL[0], &account);
    let (_db, c) = create_database_and_container(&loader, &account);
    create_items(&loader, &c, (0..ITEMS).map(doc));

    // 1,000 keys: 900 items in a scrambled order, 99 that do not exist (a wrong partition key
    // or an unknown id), and one key given twice.
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut expected: Vec<Option<usize>> = Vec::new();
    for k in 0..900 {
        let n = (k * 7 + 3) % ITEMS;
        keys.push((format!("i{n}"), format!("p{}", n % 97)));
        expected.push(Some(n));
    }
    for k in 0..99 {
        if k % 2 == 0 {
            keys.push((format!("absent{k}"), format!("p{k}")));
        } else {
            keys.push((format!("i{k}"), "wrong-pk".to_string()));
        }
        expected.push(None);
    }
    keys.push(keys[5].clone());
    expected.push(expected[5]);
    assert_eq!(keys.len(), 1_000);

    for transport in ALL {
        let ctx = format!("{transport:?}");
        let client = QueryClient::new(transport, &account);
        g.reset_requests();
        let r = read_many(&client, &c, &keys);
        let got: Vec<Option<u64>> = r
            .items()
            .iter()
            .map(|i| i.as_ref().map(|v| v["n"].as_u64().unwrap()))
            .collect();
        let want: Vec<Option<u64>> = expected.iter().map(|e| e.map(|n| n as u64)).collect();
        assert_eq!(got, want, "{ctx}: items in the order of their keys");
        let missing = r.missing();
        assert_eq!(missing.len(), 99, "{ctx}");
        assert_eq!(missing[0], 900, "{ctx}");
        let (queries, points, ranges) = document_requests(&g);
        assert_eq!(ranges, 8, "{ctx}: the keys touch all 8 ranges");
        assert!(
            queries + points <= ranges as u64,
            "{ctx}: {queries} queries and {points} point reads for {ranges} ranges"
        );
        assert!(
            r.request_charge() > 0.0,
            "{ctx}: {}",
            r.diagnostics().total_request_charge()
        );
        assert_eq!(
            r.diagnostics()
                .requests()
                .iter()
                .filter(|q| q.purpose == sextant_core::Purpose::Operation)
                .count() as u64,
            queries + points,
            "{ctx}: the diagnostics hold every request"
        );

        // Two keys in two different ranges: two point reads, no query.
        let range_of = |pk: &str| range_of(&g, &c, pk);
        let other = keys
            .iter()
            .find(|k| range_of(&k.1) != range_of(&keys[0].1))
            .unwrap();
        let two = [keys[0].clone(), other.clone()];
        g.reset_requests();
        let r = read_many(&client, &c, &two);
        assert!(r.items().iter().all(Option::is_some), "{ctx}");
        let (queries, points, _) = document_requests(&g);
        assert_eq!(
            (queries, points),
            (0, 2),
            "{ctx}: a range holding one key gets a point read"
        );

        // No keys: nothing to read.
        assert!(read_many(&client, &c, &[]).items().is_empty(), "{ctx}");

        // A key that does not fit the container's key definition is a typed error naming it.
        let op = CosmosOperation::read_many(
            c.clone(),
            [(
                "i1".to_string(),
                PartitionKey::hierarchical(["a".into(), "b".into()]).unwrap(),
            )],
        );
        let e = client.execute(op, OperationOptions::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration, "{ctx}: {e}");
        assert!(e.message().contains("i1"), "{ctx}: {e}");
    }
}

#[test]
fn read_many_refuses_bad_input_before_sending() {
    let account = AccountReference::with_master_key("http://127.0.0.1:9/", EMULATOR_KEY).unwrap();
    let c = ContainerReference::from_name(account, "db", "c");
    let op = CosmosOperation::read_many(c.clone(), [("a/b", PartitionKey::from("p"))]);
    let client = QueryClient::new(ALL[1], op.account());
    let e = client.execute(op, OperationOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("key 0"), "{e}");
    let many = (0..=sextant_core::many::MAX_READ_MANY_ITEMS)
        .map(|i| (format!("i{i}"), PartitionKey::from("p")));
    let e = client
        .execute(CosmosOperation::read_many(c, many), OperationOptions::new())
        .unwrap_err();
    assert!(e.message().contains("at most 10000"), "{e}");
}

/// A key alone in its range is read with a point read. A 404 with a sub-status is not "no such
/// item": 404/1002 means the replica has not caught up with the session (PROTOCOL.md §4), so
/// the ReadMany fails rather than report the item missing, as its query path does.
#[test]
fn a_point_read_answered_404_1002_is_an_error_not_a_missing_item() {
    use sextant_core::DriverOptions;
    use sextant_tests::sim::{Answer, Sim};
    let mut sim = Sim::new(1, DriverOptions::default());
    let c = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let keys = [("a", PartitionKey::from("p"))];
    let out = sim.run(
        CosmosOperation::read_many(c.clone(), keys.clone()),
        OperationOptions::new(),
        |_, _| Answer::status(404, 1002),
    );
    let e = out.expect_err("404/1002 is an error");
    assert_eq!((e.status(), e.sub_status()), (Some(404), Some(1002)));
    // A plain 404 is still a missing item.
    let out = sim.run(
        CosmosOperation::read_many(c, keys),
        OperationOptions::new(),
        |_, _| Answer::status(404, 0),
    );
    let r = ReadManyResponse::from_response(&out.expect("a plain 404 is missing"), 1)
        .expect("a ReadMany response");
    assert_eq!(r.missing(), [0]);
}
