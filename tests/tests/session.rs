//! Session consistency on the simulator: tokens captured from data-plane answers and sent with
//! later reads of the same container.

use sextant_core::models::{ConsistencyLevel, ContainerReference, ItemReference, PartitionKey};
use sextant_core::{CosmosOperation, DriverOptions, OperationOptions};
use sextant_tests::sim::{count, Answer, Sim};

fn read(s: &Sim, container: &str) -> CosmosOperation {
    CosmosOperation::read(ItemReference::from_name(
        s.account.clone(),
        "db",
        container,
        "a",
    ))
    .with_partition_key(PartitionKey::from("p"))
}

fn create(s: &Sim) -> CosmosOperation {
    CosmosOperation::create(ContainerReference::from_name(s.account.clone(), "db", "c"))
        .with_partition_key(PartitionKey::from("p"))
        .with_body("{}")
}

#[test]
fn reads_send_the_latest_token_of_their_container() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(201))
        .unwrap(); // token 0:-1#1
    let op = read(&s, "c");
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap(); // sends #1, gets #2
    let op = read(&s, "c");
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let t = &s.transcript;
    assert_eq!(count(t, "session=0:-1#1"), 1, "{t:#?}");
    assert_eq!(count(t, "session=0:-1#2"), 1, "{t:#?}");
    assert_eq!(
        count(t, "POST")
            - count(
                t,
                "POST https://sim-westus2.documents.azure.com:443/dbs/db/colls/c/docs session"
            ),
        1,
        "writes carry no token"
    );
    // Another container has no token yet.
    let op = read(&s, "other");
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    let last = s
        .transcript
        .iter()
        .rev()
        .find(|l| l.contains("SEND"))
        .unwrap();
    assert!(!last.contains("session="), "{last}");
}

#[test]
fn an_explicit_token_wins_and_eventual_reads_send_none() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(201))
        .unwrap();
    let op = read(&s, "c");
    s.run(
        op,
        OperationOptions::new().with_session_token("0:-1#99"),
        |_, _| Answer::ok(200),
    )
    .unwrap();
    assert_eq!(count(&s.transcript, "session=0:-1#99"), 1);
    let op = read(&s, "c");
    s.run(
        op,
        OperationOptions::new().with_consistency_level(ConsistencyLevel::Eventual),
        |_, _| Answer::ok(200),
    )
    .unwrap();
    let last = s
        .transcript
        .iter()
        .rev()
        .find(|l| l.contains("SEND"))
        .unwrap();
    assert!(!last.contains("session="), "{last}");
    assert_eq!(
        s.driver
            .sessions()
            .token_for("dbs/db/colls/c", None)
            .as_deref(),
        Some("0:-1#3")
    );
}

#[test]
fn after_a_split_the_child_range_sends_its_parents_token() {
    use sextant_tests::sim::Answer as A;
    use std::time::Duration;
    let mut s = Sim::new(1, DriverOptions::default());
    s.pk_ranges_script = Some(Box::new(|n, req| {
        let full = |etag: &str, body: &str| A::Full {
            status: 200,
            headers: vec![("etag", etag.to_string())],
            body: body.to_string(),
            latency: Duration::from_millis(2),
        };
        if n == 0 {
            return full(
                "e1",
                r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#,
            );
        }
        // The refresh after 410/1002 is incremental: a-im + the previous etag.
        assert_eq!(
            req.headers.get("a-im").map(|v| v.to_str().unwrap()),
            Some("Incremental Feed")
        );
        assert_eq!(
            req.headers
                .get("if-none-match")
                .map(|v| v.to_str().unwrap()),
            Some("e1")
        );
        full(
            "e2",
            r#"{"PartitionKeyRanges":[{"id":"1","minInclusive":"","maxExclusive":"7F","parents":["0"]},{"id":"2","minInclusive":"7F","maxExclusive":"FF","parents":["0"]}]}"#,
        )
    }));
    let op = create(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(201))
        .unwrap(); // token 0:-1#1
    let op = read(&s, "c");
    s.run(op, OperationOptions::new(), |i, _| {
        if i == 0 {
            Answer::status(410, 1002)
        } else {
            Answer::ok(200)
        }
    })
    .unwrap();
    let ranges = s
        .driver
        .containers()
        .get("dbs/db/colls/c")
        .unwrap()
        .routing
        .as_ref()
        .unwrap()
        .ranges()
        .len();
    assert_eq!(ranges, 2, "the split was applied incrementally");
    let last = s
        .transcript
        .iter()
        .rev()
        .find(|l| l.contains("SEND") && l.contains("/docs/a"))
        .unwrap();
    // The key "p" hashes into one of the children; it carries the parent's progress.
    assert!(
        last.contains("session=1:-1#") || last.contains("session=2:-1#"),
        "{last}"
    );
}
