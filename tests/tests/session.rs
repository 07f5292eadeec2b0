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
