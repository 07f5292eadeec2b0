//! Record and replay: a recorded exchange survives JSON and replays to the same actions and
//! result; a tampered recording is reported at the entry where the replay diverges; secrets
//! are not recorded.

// Test code: a failed expectation is a failed test; the test plays the transport, which is
// where clocks are read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::replay::{self, ActionSummary, EntryEvent, Recording};
use sextant_core::transport::{RequestEvent, RequestEventKind};
use sextant_core::{
    Action, CosmosOperation, Driver, DriverOptions, Now, OperationOptions, Response,
};

const ENDPOINT: &str = "https://myaccount.documents.azure.com:443/";
const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
/// Another valid key: replay does not compare signatures.
const OTHER_KEY: &str = "dGhpcyBpcyBub3QgdGhlIHJlY29yZGVkIGtleSwganVzdCBhbm90aGVyIG9uZSE=";

fn account(key: &str) -> AccountReference {
    AccountReference::with_master_key(ENDPOINT, key).unwrap()
}

/// Plays a tiny server: account read `{}`, item reads 200 (or 404 for `missing`), creates 409
/// the first time and 201 after a 429 otherwise. Returns the outcomes' statuses.
fn drive(driver: &mut Driver, ops: Vec<CosmosOperation>, mut now: Now) -> Vec<Result<u16, String>> {
    let mut out = Vec::new();
    for op in ops {
        let mut exec = driver.start(op, OperationOptions::new(), now);
        let mut throttled = false;
        let result = loop {
            match exec.poll(driver, now) {
                Action::Send(req) => {
                    let ev = RequestEvent::new(RequestEventKind::TransportStart);
                    exec.handle_event(driver, req.attempt, ev, now);
                    now = now.advanced(Duration::from_micros(1_234_567 % 5_000 + 300));
                    let path = req.uri.path().to_string();
                    let mut headers = HeaderMap::new();
                    headers.insert("x-ms-request-charge", HeaderValue::from_static("1.5"));
                    headers.insert("set-cookie", HeaderValue::from_static("secret=1"));
                    let (status, body) = if path == "/" {
                        (200, "{}".to_string())
                    } else if path.contains("missing") {
                        (404, r#"{"code":"NotFound"}"#.to_string())
                    } else if req.method == http::Method::POST && !throttled {
                        throttled = true;
                        headers.insert("x-ms-retry-after-ms", HeaderValue::from_static("7"));
                        (429, r#"{"code":"TooManyRequests"}"#.to_string())
                    } else if req.method == http::Method::POST {
                        (201, r#"{"id":"new"}"#.to_string())
                    } else {
                        (200, r#"{"id":"item 1"}"#.to_string())
                    };
                    let resp = Response {
                        status,
                        headers,
                        body: Bytes::from(body),
                    };
                    exec.handle_response(driver, req.attempt, resp, now);
                }
                Action::Wait { until } => {
                    let until = until.expect("a timer is armed");
                    now = Now::new(until, now.wall + until.duration_since(now.mono));
                }
                Action::Done(r) => break r,
                other => panic!("unexpected {other:?}"),
            }
        };
        out.push(
            result
                .map(|r| r.status())
                .map_err(|e| format!("{:?}", e.status())),
        );
    }
    out
}

fn ops(account: &AccountReference) -> Vec<CosmosOperation> {
    let item = ItemReference::from_name(account.clone(), "db", "c", "item 1");
    let missing = ItemReference::from_name(account.clone(), "db", "c", "missing é");
    let container = ContainerReference::from_name(account.clone(), "db", "c");
    vec![
        CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk")),
        CosmosOperation::read(missing).with_partition_key(PartitionKey::from("pk")),
        CosmosOperation::create(container)
            .with_partition_key(PartitionKey::from("pk"))
            .with_body(r#"{"id":"new","pk":"pk"}"#),
    ]
}

fn record() -> (Recording, Vec<Result<u16, String>>) {
    let now = Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let acc = account(KEY);
    let mut driver = Driver::new(acc.clone(), DriverOptions::default(), 42, now).unwrap();
    driver.start_recording();
    assert!(driver.is_recording());
    let results = drive(&mut driver, ops(&acc), now);
    let rec = driver.take_recording().expect("recording");
    assert!(!driver.is_recording());
    (rec, results)
}

#[test]
fn recording_round_trips_through_json_and_replays() {
    let (rec, results) = record();
    assert_eq!(
        results,
        vec![Ok(200), Err("Some(404)".to_string()), Ok(201)],
        "the simulated outcomes"
    );
    assert!(rec.cold);
    assert!(!rec.truncated);
    assert_eq!(rec.executions(), 3);
    let json = rec.to_json().unwrap();
    let back = Recording::from_json(&json).unwrap();
    assert_eq!(back, rec);

    let outcome = replay::replay(
        &back,
        account(OTHER_KEY),
        DriverOptions::default(),
        Instant::now(),
    )
    .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(outcome.executions, 3);
    let statuses: Vec<(bool, Option<u16>)> = outcome
        .results
        .iter()
        .map(|r| match &r.done {
            ActionSummary::Done { ok, status, .. } => (*ok, *status),
            other => panic!("not done: {other:?}"),
        })
        .collect();
    assert_eq!(
        statuses,
        vec![(true, Some(200)), (false, Some(404)), (true, Some(201))]
    );
}

#[test]
fn a_tampered_response_is_reported_where_the_replay_diverges() {
    let (mut rec, _) = record();
    // The 201 of the create (the last response) becomes a 503.
    let tampered = rec
        .entries
        .iter()
        .rposition(|e| matches!(e.event, EntryEvent::Response { .. }))
        .unwrap();
    if let EntryEvent::Response { status, .. } = &mut rec.entries[tampered].event {
        assert_eq!(*status, 201);
        *status = 503;
    }
    let next_poll = tampered
        + 1
        + rec.entries[tampered + 1..]
            .iter()
            .position(|e| matches!(e.event, EntryEvent::Poll { .. }))
            .unwrap();
    let m = replay::replay(&rec, account(KEY), DriverOptions::default(), Instant::now())
        .expect_err("the replay diverges");
    assert_eq!(m.entry, next_poll, "{m}");
    assert_eq!(m.exec, Some(2));
    assert!(matches!(
        m.expected.as_deref(),
        Some(ActionSummary::Done { ok: true, .. })
    ));
    assert_ne!(m.expected, m.actual);
    assert!(m.to_string().contains(&format!("entry {next_poll}")));
}

#[test]
fn secrets_are_not_recorded() {
    let (rec, _) = record();
    let json = rec.to_json().unwrap();
    assert!(!json.contains(KEY), "the master key");
    assert!(
        !json.to_ascii_lowercase().contains("authorization"),
        "signatures"
    );
    assert!(!json.contains("secret=1"), "set-cookie is redacted");
    assert!(json.contains(replay::REDACTED));
}

#[test]
fn replay_rejects_another_endpoint_and_other_options() {
    let (rec, _) = record();
    let other =
        AccountReference::with_master_key("https://other.documents.azure.com:443/", KEY).unwrap();
    let m = replay::replay(&rec, other, DriverOptions::default(), Instant::now()).unwrap_err();
    assert_eq!(m.entry, 0);
    // Options change behaviour: a different per-request timeout changes every deadline.
    let options = DriverOptions::builder()
        .request_timeout(Duration::from_secs(7))
        .build()
        .unwrap();
    assert!(replay::replay(&rec, account(KEY), options, Instant::now()).is_err());
}

#[test]
fn a_warm_driver_is_flagged() {
    let now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH);
    let acc = account(KEY);
    let mut driver = Driver::new(acc.clone(), DriverOptions::default(), 7, now).unwrap();
    drive(&mut driver, ops(&acc).into_iter().take(1).collect(), now);
    driver.start_recording();
    let rec = driver.take_recording().unwrap();
    assert!(!rec.cold);
    assert!(rec.first_attempt > 1);
}

#[test]
fn partition_key_headers_parse_back() {
    for pk in [
        PartitionKey::from("a \"quoted\" é"),
        PartitionKey::null(),
        PartitionKey::undefined(),
        PartitionKey::number(-12.5).unwrap(),
        PartitionKey::from(true),
    ] {
        let h = pk.to_header_value();
        assert_eq!(replay::parse_partition_key(&h).unwrap(), pk, "{h}");
    }
    assert!(replay::parse_partition_key("\"x\"").is_err());
    assert!(replay::parse_partition_key("[[1]]").is_err());
}
