//! Diagnostics JSON: golden tests against the seed's examples (driven through real executions on
//! a virtual clock), metadata reads, request events, the size cap and the memory bound.
//!
//! The seed's examples use fixed activity ids; the driver draws its own from the seed, so the
//! tests replace the generated id with the seed's in the output (the server echoes the client's
//! `x-ms-activity-id` on the final response, as the gateway does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use sextant_core::diagnostics::{DiagnosticsOptions, DiagnosticsVerbosity, MAX_RECORDED_REQUESTS};
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::transport::{RequestEvent, RequestEventKind};
use sextant_core::{
    Action, CosmosDiagnostics, CosmosError, CosmosOperation, CosmosResponse, Driver, DriverOptions,
    Execution, Now, OperationOptions, OutgoingRequest, Purpose, Response,
};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
const ACCOUNT_ENDPOINT: &str = "https://myaccount.documents.azure.com:443/";
const ACCOUNT_BODY: &str = r#"{"id":"myaccount","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://myaccount-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://myaccount-westus2.documents.azure.com:443/"}],"enableMultipleWriteLocations":false}"#;

/// Container properties (partition key definition) for routing.
const CONTAINER_BODY: &str =
    r#"{"id":"myContainer","partitionKey":{"paths":["/pk"],"kind":"Hash","version":2}}"#;
/// One partition key range covering everything.
const PK_RANGES_BODY: &str =
    r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"FF","parents":[]}]}"#;

/// The seed's "Successful Read Item (Detailed)" example, verbatim.
const SEED_READ_DETAILED: &str =
    include_str!("../../tests/golden/diagnostics/seed_read_detailed.json");

/// The seed's "10 × 429/3200 Retries Then Success" examples, verbatim.
const SEED_THROTTLED_DETAILED: &str =
    include_str!("../../tests/golden/diagnostics/seed_throttled_detailed.json");

/// The seed's Summary form of the same operation, verbatim.
const SEED_THROTTLED_SUMMARY: &str =
    include_str!("../../tests/golden/diagnostics/seed_throttled_summary.json");

const SEED_READ_ID: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
const SEED_THROTTLED_ID: &str = "b2c3d4e5-f6a7-8901-bcde-f12345678901";

/// Per-attempt latencies of the throttled example (ten 429s, then the 200).
const THROTTLED_LATENCIES: [u64; 11] = [45, 52, 78, 120, 189, 312, 456, 623, 780, 890, 28];

/// How the scripted server answers one data-plane request.
#[derive(Debug, Clone, Copy)]
struct Reply {
    status: u16,
    sub_status: Option<u32>,
    retry_after_ms: Option<u64>,
    latency_ms: u64,
    /// Echo the request's `x-ms-activity-id` (the seed shows it on the final 200 only).
    echo_activity_id: bool,
    /// Report `TransportStart` and `ResponseHeadersReceived` events like a real transport.
    events: bool,
}

impl Reply {
    fn ok(latency_ms: u64) -> Reply {
        Reply {
            status: 200,
            sub_status: None,
            retry_after_ms: None,
            latency_ms,
            echo_activity_id: true,
            events: false,
        }
    }

    fn throttled(latency_ms: u64, retry_after_ms: u64) -> Reply {
        Reply {
            status: 429,
            sub_status: Some(3200),
            retry_after_ms: Some(retry_after_ms),
            latency_ms,
            echo_activity_id: false,
            events: false,
        }
    }
}

/// A driver and a virtual clock.
struct World {
    driver: Driver,
    account: AccountReference,
    now: Now,
    start: Instant,
}

impl World {
    fn new(options: DriverOptions) -> World {
        let account = AccountReference::with_master_key(ACCOUNT_ENDPOINT, KEY).unwrap();
        #[allow(clippy::disallowed_methods)] // the test plays the transport
        let start = Instant::now();
        let now = Now::new(
            start,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let driver = Driver::new(account.clone(), options, 7, now).unwrap();
        World {
            driver,
            account,
            now,
            start,
        }
    }

    fn read_op(&self) -> CosmosOperation {
        CosmosOperation::read(ItemReference::from_name(
            self.account.clone(),
            "myDatabase",
            "myContainer",
            "doc_001",
        ))
        .with_partition_key(PartitionKey::from("pk"))
    }

    /// Runs a read to completion; `script(i, req)` answers the i-th data-plane request.
    /// Metadata reads (account, container, pk ranges) are answered with 200 after 3 ms.
    fn run(
        &mut self,
        script: &mut dyn FnMut(usize, &OutgoingRequest) -> Reply,
    ) -> Result<CosmosResponse, CosmosError> {
        let op = self.read_op();
        let mut exec = self.driver.start(op, OperationOptions::default(), self.now);
        self.drive(&mut exec, script)
    }

    fn drive(
        &mut self,
        exec: &mut Execution,
        script: &mut dyn FnMut(usize, &OutgoingRequest) -> Reply,
    ) -> Result<CosmosResponse, CosmosError> {
        let mut pending: Option<(Instant, sextant_core::AttemptId, Response)> = None;
        let mut data = 0usize;
        for _ in 0..1_000_000 {
            match exec.poll(&mut self.driver, self.now) {
                Action::Send(req) => {
                    assert!(
                        pending.is_none(),
                        "one attempt at a time in these scenarios"
                    );
                    let metadata = |body: &'static str| {
                        (
                            Reply {
                                echo_activity_id: false,
                                ..Reply::ok(3)
                            },
                            body,
                        )
                    };
                    let (reply, body) = match req.purpose {
                        Purpose::AccountRead => metadata(ACCOUNT_BODY),
                        Purpose::ContainerRead => metadata(CONTAINER_BODY),
                        Purpose::PkRangeRead => metadata(PK_RANGES_BODY),
                        _ => {
                            data += 1;
                            (script(data - 1, &req), r#"{"id":"doc_001"}"#)
                        }
                    };
                    if reply.events {
                        exec.handle_event(
                            &mut self.driver,
                            req.attempt,
                            RequestEvent::new(RequestEventKind::TransportStart),
                            self.now,
                        );
                    }
                    let mut h = HeaderMap::new();
                    h.insert("x-ms-request-charge", HeaderValue::from_static("1"));
                    if let Some(s) = reply.sub_status {
                        h.insert("x-ms-substatus", HeaderValue::from(s));
                    }
                    if let Some(ms) = reply.retry_after_ms {
                        h.insert("x-ms-retry-after-ms", HeaderValue::from(ms));
                    }
                    if reply.echo_activity_id {
                        if let Some(a) = req.headers.get("x-ms-activity-id") {
                            h.insert("x-ms-activity-id", a.clone());
                        }
                    }
                    if reply.events {
                        let at = self
                            .now
                            .advanced(Duration::from_millis(reply.latency_ms / 2));
                        exec.handle_event(
                            &mut self.driver,
                            req.attempt,
                            RequestEvent::new(RequestEventKind::ResponseHeadersReceived),
                            at,
                        );
                    }
                    let resp = Response {
                        status: reply.status,
                        headers: h,
                        body: Bytes::from_static(body.as_bytes()),
                    };
                    pending = Some((
                        self.now.mono + Duration::from_millis(reply.latency_ms),
                        req.attempt,
                        resp,
                    ));
                }
                Action::Wait { until } => {
                    let due = pending.as_ref().map(|p| p.0);
                    let wake = match (until, due) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b).expect("something to wait for"),
                    };
                    self.now = self
                        .now
                        .advanced(wake.saturating_duration_since(self.now.mono));
                    if pending.as_ref().is_some_and(|p| p.0 <= self.now.mono) {
                        let (_, id, resp) = pending.take().unwrap();
                        exec.handle_response(&mut self.driver, id, resp, self.now);
                    }
                }
                Action::Done(r) => return r,
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("did not finish");
    }

    fn elapsed(&self) -> Duration {
        self.now.mono.saturating_duration_since(self.start)
    }
}

/// A warm world: the account read happened in an earlier operation.
fn warm_world(options: DriverOptions) -> World {
    let mut w = World::new(options);
    w.run(&mut |_, _| Reply::ok(1)).unwrap();
    w
}

fn with_seed_id(json: &str, d: &CosmosDiagnostics, seed_id: &str) -> String {
    json.replace(&d.activity_id().to_string(), seed_id)
}

/// Exact text of the pretty form, and equal JSON values for the compact form.
fn assert_golden(
    d: &CosmosDiagnostics,
    verbosity: DiagnosticsVerbosity,
    seed_id: &str,
    expected: &str,
) {
    let opts = DiagnosticsOptions::default();
    let pretty = with_seed_id(&d.to_pretty_json_string(verbosity, &opts), d, seed_id);
    assert_eq!(
        pretty,
        expected.trim_end(),
        "pretty {verbosity:?} differs from the seed"
    );
    let compact = with_seed_id(&d.to_json_string(verbosity), d, seed_id);
    assert!(!compact.contains('\n'));
    let got: serde_json::Value = serde_json::from_str(&compact).unwrap();
    let want: serde_json::Value = serde_json::from_str(expected).unwrap();
    assert_eq!(got, want, "compact {verbosity:?} differs from the seed");
    // Compact = the seed's text without insignificant whitespace (same order, same numbers).
    let stripped: String = {
        let mut out = String::new();
        let mut in_str = false;
        let mut esc = false;
        for c in expected.chars() {
            if in_str {
                out.push(c);
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    in_str = false;
                }
            } else if c == '"' {
                in_str = true;
                out.push(c);
            } else if !c.is_whitespace() {
                out.push(c);
            }
        }
        out
    };
    assert_eq!(compact, stripped);
}

#[test]
fn golden_successful_read_detailed() {
    let mut w = warm_world(DriverOptions::default());
    let r = w.run(&mut |_, _| Reply::ok(23)).unwrap();
    let d = r.diagnostics();
    assert_golden(
        d,
        DiagnosticsVerbosity::Detailed,
        SEED_READ_ID,
        SEED_READ_DETAILED,
    );
}

/// Ten 429/3200 with the seed's latencies, then the 200. `last_retry_after` tunes the total.
fn throttled_run(last_retry_after: u64) -> (World, CosmosResponse) {
    let options = DriverOptions::builder()
        .max_throttle_retries(10)
        .build()
        .unwrap();
    let mut w = warm_world(options);
    let r = w
        .run(&mut |i, _| match i {
            0..=8 => Reply::throttled(THROTTLED_LATENCIES[i], 95),
            9 => Reply::throttled(THROTTLED_LATENCIES[i], last_retry_after),
            _ => Reply::ok(THROTTLED_LATENCIES[10]),
        })
        .unwrap();
    (w, r)
}

/// The retry-after of the last 429 that makes the total 4523 ms: the driver adds a seeded
/// jitter to every wait, so a first run measures it (the same seed draws the same jitter).
fn tuned_throttled_run() -> CosmosResponse {
    let (_, probe) = throttled_run(95);
    let total = probe.diagnostics().elapsed().as_millis() as u64;
    let last = 95 + 4523 - total;
    let (_, r) = throttled_run(last);
    assert_eq!(r.diagnostics().elapsed(), Duration::from_millis(4523));
    r
}

#[test]
fn golden_throttled_detailed() {
    let r = tuned_throttled_run();
    assert_golden(
        r.diagnostics(),
        DiagnosticsVerbosity::Detailed,
        SEED_THROTTLED_ID,
        SEED_THROTTLED_DETAILED,
    );
}

#[test]
fn golden_throttled_summary() {
    let r = tuned_throttled_run();
    assert_golden(
        r.diagnostics(),
        DiagnosticsVerbosity::Summary,
        SEED_THROTTLED_ID,
        SEED_THROTTLED_SUMMARY,
    );
}

#[test]
fn single_read_summary_has_first_only() {
    let mut w = warm_world(DriverOptions::default());
    let r = w.run(&mut |_, _| Reply::ok(23)).unwrap();
    let s = r
        .diagnostics()
        .to_json_string(DiagnosticsVerbosity::Summary);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    let region = &v["regions"][0];
    assert_eq!(region["region"], "West US 2");
    assert_eq!(region["request_count"], 1);
    assert_eq!(region["first"]["status_code"], 200);
    assert!(region.get("last").is_none());
    assert!(region.get("deduplicated_groups").is_none());
    assert!(v.get("truncated").is_none());
    assert!(v.get("metadata_requests").is_none());
}

#[test]
fn metadata_reads_are_listed_apart() {
    // A cold driver reads the account, then the container and its partition key ranges.
    let mut w = World::new(DriverOptions::default());
    let r = w.run(&mut |_, _| Reply::ok(5)).unwrap();
    let d = r.diagnostics();
    let metadata = d.requests().iter().filter(|r| r.is_metadata()).count() as u64;
    assert!(metadata >= 1);
    assert_eq!(d.request_count(), 1 + metadata);
    assert_eq!(
        d.requests().len() as u64,
        d.request_count(),
        "requests() holds them all"
    );
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Detailed)).unwrap();
    assert_eq!(v["request_count"], d.request_count());
    assert_eq!(v["requests"].as_array().unwrap().len(), 1);
    assert_eq!(v["requests"][0]["region"], "West US 2");
    let meta = v["metadata_requests"].as_array().unwrap();
    assert_eq!(meta.len() as u64, metadata);
    assert_eq!(
        meta[0]["endpoint"], ACCOUNT_ENDPOINT,
        "the account read comes first"
    );
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Summary)).unwrap();
    assert_eq!(v["regions"].as_array().unwrap().len(), 1);
    assert_eq!(v["regions"][0]["request_count"], 1);
    let meta = v["metadata_requests"].as_array().unwrap();
    let counted: u64 = meta
        .iter()
        .map(|m| m["request_count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, metadata);
    assert_eq!(meta[0]["first"]["endpoint"], ACCOUNT_ENDPOINT);
    assert_eq!(meta[0]["first"]["status_code"], 200);
}

#[test]
fn transport_events_appear_in_detailed_output() {
    let mut w = warm_world(DriverOptions::default());
    let r = w
        .run(&mut |_, _| Reply {
            events: true,
            ..Reply::ok(40)
        })
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(
        &r.diagnostics()
            .to_json_string(DiagnosticsVerbosity::Detailed),
    )
    .unwrap();
    let events = v["requests"][0]["events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "transport_start",
            "response_headers_received",
            "transport_complete"
        ]
    );
    let times: Vec<u64> = events
        .iter()
        .map(|e| e["timestamp_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(times, [0, 20, 40], "relative to the operation's start");
    // Summary stays compact: no events.
    let s = r
        .diagnostics()
        .to_json_string(DiagnosticsVerbosity::Summary);
    assert!(!s.contains("events"), "{s}");
}

#[test]
fn a_thousand_attempts_hold_bounded_memory() {
    // The policy caps 429 retries at 1000; every attempt is a 429 until the budget runs out.
    let options = DriverOptions::builder()
        .max_throttle_retries(1000)
        .max_throttle_wait(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut w = warm_world(options);
    let e = w
        .run(&mut |i, _| Reply::throttled(1 + (i as u64 % 7), 1))
        .expect_err("throttled until the budget runs out");
    let d = e.diagnostics();
    assert_eq!(d.request_count(), 1001);
    assert_eq!(d.requests().len(), MAX_RECORDED_REQUESTS);
    assert_eq!(d.dropped_requests(), 1001 - MAX_RECORDED_REQUESTS as u64);
    assert_eq!(d.total_request_charge(), 1001.0);
    // Retained: 64 records + 1 region + 2 groups (initial, retry) with 7 distinct latencies
    // each at most (exact samples, then histogram buckets).
    assert!(
        d.retained_entries() <= MAX_RECORDED_REQUESTS + 1 + 2 * (1 + 64),
        "{}",
        d.retained_entries()
    );
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Summary)).unwrap();
    let region = &v["regions"][0];
    assert_eq!(region["request_count"], 1001);
    assert_eq!(region["first"]["execution_context"], "initial");
    assert_eq!(region["last"]["status_code"], 429);
    let groups = region["deduplicated_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["count"], 999);
    assert_eq!(groups[0]["min_duration_ms"], 1);
    assert_eq!(groups[0]["max_duration_ms"], 7);
    let detailed: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Detailed)).unwrap();
    assert_eq!(
        detailed["requests"].as_array().unwrap().len(),
        MAX_RECORDED_REQUESTS
    );
    assert_eq!(
        detailed["dropped_requests"],
        1001 - MAX_RECORDED_REQUESTS as u64
    );
    assert!(w.elapsed() > Duration::ZERO);
}

#[test]
fn summary_cap_is_configurable_and_respected() {
    let options = DriverOptions::builder()
        .max_throttle_retries(1000)
        .max_throttle_wait(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut w = warm_world(options);
    // Every latency distinct enough to spread over several groups? No: one key per context, so
    // make the cap bite through a long endpoint-free route instead: many groups come from
    // alternating sub-statuses.
    let e = w
        .run(&mut |i, _| Reply {
            sub_status: Some(3200 + (i as u32 % 300)),
            ..Reply::throttled(2, 1)
        })
        .expect_err("throttled");
    let d = e.diagnostics();
    for cap in [4096usize, 5000, 8192, 16384, 65536] {
        let opts = DiagnosticsOptions::builder()
            .max_summary_size_bytes(cap)
            .build()
            .unwrap();
        let s = d.to_json_string_with(DiagnosticsVerbosity::Summary, &opts);
        assert!(s.len() <= cap, "{cap}: {}", s.len());
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["request_count"], 1001);
        let region = &v["regions"][0];
        assert_eq!(
            region["last"]["status_code"], 429,
            "the final status survives"
        );
        let t = &v["truncated"];
        assert_eq!(t["max_size_bytes"], cap as u64);
        let kept: u64 = region["deduplicated_groups"]
            .as_array()
            .map(|g| g.iter().map(|g| g["count"].as_u64().unwrap()).sum())
            .unwrap_or(0);
        assert_eq!(
            kept + 2 + t["dropped_requests"].as_u64().unwrap(),
            1001,
            "{t}"
        );
    }
}
