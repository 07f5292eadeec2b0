//! Opt-in idempotent writes: a tracking id lets a retried create answered 409 (or a retried
//! replace answered 412) be recognised as the driver's own earlier success.

use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, OutgoingRequest, Purpose, RequestSent,
    TransportErrorKind,
};
use sextant_tests::sim::{count, Answer, Sim};

fn activity(req: &OutgoingRequest) -> String {
    req.headers
        .get("x-ms-activity-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn doc_with_tracking(tracking: &str) -> Answer {
    let body: &'static str =
        Box::leak(format!(r#"{{"id":"a","pk":"p","_trackingId":"{tracking}"}}"#).into_boxed_str());
    Answer::Status {
        status: 200,
        sub_status: None,
        retry_after_ms: None,
        body,
        latency: std::time::Duration::from_millis(3),
    }
}

fn create(s: &Sim) -> CosmosOperation {
    CosmosOperation::create(ContainerReference::from_name(s.account.clone(), "db", "c"))
        .with_partition_key(PartitionKey::from("p"))
        .with_body(r#"{"id":"a","pk":"p"}"#)
}

fn opted_in() -> OperationOptions {
    OperationOptions::new().with_non_idempotent_write_retries(true)
}

#[test]
fn a_retried_create_answered_409_is_recognised_as_our_own_success() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    let mut stamped = Vec::new();
    let r = s
        .run(op, opted_in(), |i, req| {
            stamped.push(String::from_utf8_lossy(&req.body).into_owned());
            match i {
                0 => Answer::fail(TransportErrorKind::Io, RequestSent::Unknown), // applied, answer lost
                1 => Answer::status(409, 0),
                _ => {
                    assert_eq!(req.method, http::Method::GET, "the check is a point read");
                    assert!(
                        req.uri.path().ends_with("/dbs/db/colls/c/docs/a"),
                        "{}",
                        req.uri
                    );
                    doc_with_tracking(&activity(req))
                }
            }
        })
        .unwrap();
    assert_eq!(r.status(), 201, "reported as the create it was");
    assert!(
        stamped[0].contains("\"_trackingId\""),
        "the body is stamped: {}",
        stamped[0]
    );
    assert_eq!(stamped[0], stamped[1], "the retry sends the same document");
    let purposes: Vec<Purpose> = r
        .diagnostics()
        .requests()
        .iter()
        .map(|a| a.purpose)
        .collect();
    assert_eq!(
        purposes
            .iter()
            .filter(|p| **p == Purpose::TrackingCheck)
            .count(),
        1
    );
}

#[test]
fn a_409_for_someone_elses_document_stays_a_conflict() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    let e = s
        .run(op, opted_in(), |i, _| match i {
            0 => Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
            1 => Answer::status(409, 0),
            _ => doc_with_tracking("someone-else"),
        })
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
}

#[test]
fn a_first_attempt_409_is_never_checked() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    let e = s
        .run(op, opted_in(), |_, _| Answer::status(409, 0))
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(
        count(&s.transcript, "/docs/a "),
        0,
        "no read-back of the item: {:#?}",
        s.transcript
    );
    assert_eq!(count(&s.transcript, "POST"), 1);
}

#[test]
fn a_retried_replace_answered_412_is_recognised_too() {
    let mut s = Sim::new(1, DriverOptions::default());
    let item = ItemReference::from_name(s.account.clone(), "db", "c", "a");
    let op = CosmosOperation::replace(item)
        .with_partition_key(PartitionKey::from("p"))
        .with_body(r#"{"id":"a","pk":"p","v":2}"#);
    let r = s
        .run(
            op,
            opted_in().with_if_match("\"etag-1\""),
            |i, req| match i {
                0 => Answer::status(503, 0),
                1 => Answer::status(412, 0),
                _ => doc_with_tracking(&activity(req)),
            },
        )
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_failed_check_reports_the_original_conflict_and_never_replays_the_write() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    let e = s
        .run(op, opted_in(), |i, _| match i {
            0 => Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
            1 => Answer::status(409, 0),
            _ => Answer::fail(TransportErrorKind::Io, RequestSent::Unknown),
        })
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(count(&s.transcript, "POST"), 2, "{:#?}", s.transcript);
}

#[test]
fn without_the_opt_in_the_body_is_untouched() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = create(&s);
    let mut body = String::new();
    s.run(op, OperationOptions::new(), |_, req| {
        body = String::from_utf8_lossy(&req.body).into_owned();
        Answer::ok(201)
    })
    .unwrap();
    assert_eq!(body, r#"{"id":"a","pk":"p"}"#);
}
