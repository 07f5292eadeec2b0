//! Golden transcripts: one simulated scenario per row of the retry/failover table
//! (core/src/policy/table.rs), compared line by line with tests/golden/policy/<row>.txt.
//!
//! Regenerate after an intended behaviour change with `SEXTANT_BLESS=1 cargo test -p
//! sextant-tests --test policy_golden`, then review the diff like code.

use std::path::PathBuf;
use std::time::Duration;

use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, RequestSent, TransportErrorKind,
};
use sextant_tests::sim::{Answer, Sim};

const TWO_REGIONS: &str = r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"enableMultipleWriteLocations":false}"#;

#[derive(Clone, Copy)]
enum Op {
    Read,
    Create,
}

/// Runs `op` where the first `failures` data attempts get `answer` and later ones succeed.
fn scenario(name: &str, op: Op, answer: Answer, failures: usize, opts: OperationOptions) {
    let options = DriverOptions::builder()
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut sim = Sim::new(11, options);
    sim.account_answer = Some(Answer::Status {
        status: 200,
        sub_status: None,
        retry_after_ms: None,
        body: TWO_REGIONS,
        latency: Duration::from_millis(3),
    });
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let pk = PartitionKey::from("p");
    let operation = match op {
        Op::Read => CosmosOperation::read(ItemReference::in_container(&container, "a"))
            .with_partition_key(pk),
        Op::Create => CosmosOperation::create(container)
            .with_partition_key(pk)
            .with_body(r#"{"id":"a"}"#),
    };
    let ok = match op {
        Op::Read => 200,
        Op::Create => 201,
    };
    let _ = sim.run(operation, opts, |i, _| {
        if i < failures {
            answer.clone()
        } else {
            Answer::ok(ok)
        }
    });
    let rendered: Vec<String> = sim
        .transcript
        .iter()
        .map(|l| match l.find(" date=") {
            Some(i) => l[..i].to_string(), // dates and signatures are checked elsewhere
            None => l.clone(),
        })
        .collect();
    let text = rendered.join("\n") + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden/policy")
        .join(format!("{name}.txt"));
    if std::env::var_os("SEXTANT_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with SEXTANT_BLESS=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        text, expected,
        "transcript of {name} changed; if intended, re-bless and review the diff"
    );
}

fn st(status: u16, sub: u32) -> Answer {
    Answer::status(status, sub)
}

fn none() -> OperationOptions {
    OperationOptions::new()
}

#[test]
fn r429_throttled_same_region_after_retry_after() {
    scenario(
        "429_3200_read",
        Op::Read,
        Answer::throttled(3200, 250),
        2,
        none(),
    );
}

#[test]
fn r449_retry_with_exponential() {
    scenario("449_create", Op::Create, st(449, 0), 3, none());
}

#[test]
fn r503_read_fails_over() {
    scenario("503_read", Op::Read, st(503, 0), 1, none());
}

#[test]
fn r503_write_is_not_replayed() {
    scenario("503_create", Op::Create, st(503, 0), 1, none());
}

#[test]
fn r503_write_replayed_when_opted_in() {
    scenario(
        "503_create_opted_in",
        Op::Create,
        st(503, 0),
        1,
        OperationOptions::new().with_non_idempotent_write_retries(true),
    );
}

#[test]
fn r500_read_fails_over_write_fails() {
    scenario("500_read", Op::Read, st(500, 0), 1, none());
    scenario("500_create", Op::Create, st(500, 0), 1, none());
}

#[test]
fn r408_read_fails_over_write_fails() {
    scenario("408_read", Op::Read, st(408, 0), 1, none());
    scenario("408_create", Op::Create, st(408, 0), 1, none());
}

#[test]
fn r403_3_write_forbidden_refreshes_and_retries() {
    scenario("403_3_create", Op::Create, st(403, 3), 1, none());
    scenario("403_3_read", Op::Read, st(403, 3), 1, none());
}

#[test]
fn r403_1008_account_not_found_marks_and_refreshes() {
    scenario("403_1008_read", Op::Read, st(403, 1008), 1, none());
}

#[test]
fn r404_1002_session_not_available_goes_to_the_hub() {
    scenario("404_1002_read", Op::Read, st(404, 1002), 2, none());
}

#[test]
fn r410_topology_changes_retry_once() {
    for sub in [1002, 1007, 1008] {
        scenario(
            &format!("410_{sub}_read"),
            Op::Read,
            st(410, sub),
            1,
            none(),
        );
    }
    scenario("410_1002_read_twice", Op::Read, st(410, 1002), 2, none());
}

#[test]
fn r410_1000_and_400_1024_container_recreated_retry_once() {
    scenario("410_1000_read", Op::Read, st(410, 1000), 1, none());
    scenario("400_1024_create", Op::Create, st(400, 1024), 1, none());
}

#[test]
fn transport_failures_follow_the_request_sent_flag() {
    scenario(
        "connect_not_sent_create",
        Op::Create,
        Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent),
        1,
        none(),
    );
    scenario(
        "io_unknown_read",
        Op::Read,
        Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
        1,
        none(),
    );
    scenario(
        "io_unknown_create",
        Op::Create,
        Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
        1,
        none(),
    );
}

#[test]
fn stalls_time_out_per_attempt_and_by_deadline() {
    scenario(
        "stall_read_attempt_timeout",
        Op::Read,
        Answer::Stall,
        1,
        none(),
    );
    scenario(
        "stall_read_deadline",
        Op::Read,
        Answer::Stall,
        9,
        OperationOptions::new()
            .with_end_to_end_timeout(Duration::from_millis(1_500))
            .with_hedging(false),
    );
}

#[test]
fn final_statuses_are_not_retried() {
    for s in [400, 401, 404, 409, 412, 413] {
        scenario(&format!("{s}_read"), Op::Read, st(s, 0), 1, none());
    }
}
