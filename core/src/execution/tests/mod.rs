//! State-level tests of [`Execution`](super::Execution), one file per state (ureq-proto's
//! `client/test/state_*.rs` style): each drives an execution into a state with hand-written
//! answers and checks the phase, timers and actions it exposes there.

mod state_backoff;
mod state_done;
mod state_in_flight;
mod state_ready;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use crate::models::{AccountReference, ItemReference, PartitionKey};
use crate::{
    Action, CosmosOperation, Driver, DriverOptions, Execution, Now, OperationOptions,
    OutgoingRequest, Purpose, Response,
};

pub(super) const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
pub(super) const ENDPOINT: &str = "https://acct.documents.azure.com:443/";

/// Two regions, East (write) and West, so failover has somewhere to go.
pub(super) const TWO_REGIONS: &str = r#"{
  "writableLocations": [{"name": "East", "databaseAccountEndpoint": "https://acct-east.documents.azure.com:443/"}],
  "readableLocations": [{"name": "East", "databaseAccountEndpoint": "https://acct-east.documents.azure.com:443/"},
                        {"name": "West", "databaseAccountEndpoint": "https://acct-west.documents.azure.com:443/"}]
}"#;

#[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock once
pub(super) fn now0() -> Now {
    Now::new(
        Instant::now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
}

pub(super) fn account() -> AccountReference {
    AccountReference::with_master_key(ENDPOINT, KEY).unwrap()
}

pub(super) fn read_op() -> CosmosOperation {
    let item = ItemReference::from_name(account(), "db", "c", "item 1");
    CosmosOperation::read(item).with_partition_key(PartitionKey::from("pk"))
}

pub(super) fn create_op() -> CosmosOperation {
    let container = crate::models::ContainerReference::from_name(account(), "db", "c");
    CosmosOperation::create(container)
        .with_partition_key(PartitionKey::from("pk"))
        .with_body(r#"{"id":"a","pk":"pk"}"#)
}

pub(super) fn status(code: u16, extra: &[(&'static str, &'static str)], body: &str) -> Response {
    let mut headers = HeaderMap::new();
    for (k, v) in extra {
        headers.insert(*k, HeaderValue::from_static(v));
    }
    Response {
        status: code,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// A driver whose account metadata is already read (two regions), so the next operation's
/// first poll emits the operation itself. Container routing is not exercised: the container
/// read is answered 404, which leaves operations unrouted.
pub(super) fn warm_driver(now: Now) -> Driver {
    warm_driver_with(now, DriverOptions::default())
}

/// [`warm_driver`] with these options.
pub(super) fn warm_driver_with(now: Now, options: DriverOptions) -> Driver {
    let mut d = Driver::new(account(), options, 7, now).unwrap();
    let mut warmup = d.start(read_op(), OperationOptions::default(), now);
    for _ in 0..20 {
        match warmup.poll(&mut d, now) {
            Action::Send(req) => {
                let resp = match req.purpose {
                    Purpose::AccountRead => status(200, &[], TWO_REGIONS),
                    Purpose::Operation => status(200, &[], r#"{"id":"item 1"}"#),
                    _ => status(404, &[], "{}"),
                };
                warmup.handle_response(&mut d, req.attempt, resp, now);
            }
            Action::Done(_) => return d,
            other => panic!("warm-up: unexpected {other:?}"),
        }
    }
    panic!("warm-up did not finish");
}

/// Polls once, expecting a `Send`.
pub(super) fn expect_send(e: &mut Execution, d: &mut Driver, now: Now) -> Box<OutgoingRequest> {
    match e.poll(d, now) {
        Action::Send(req) => req,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// Polls once, expecting a `Wait`.
pub(super) fn expect_wait(e: &mut Execution, d: &mut Driver, now: Now) -> Option<Instant> {
    match e.poll(d, now) {
        Action::Wait { until } => until,
        other => panic!("expected Wait, got {other:?}"),
    }
}
