//! Golden diagnostics: the seed's JSON examples reproduced byte for byte from simulated
//! executions (virtual clock, scripted server).
//!
//! The simulated account is `https://myaccount.documents.azure.com:443/` with one region,
//! "West US 2" at `https://myaccount-westus2.documents.azure.com:443/`, as in the seed. The
//! driver warms up first (account, container and partition-key-range reads happen in an earlier
//! operation) so the golden operation makes data-plane requests only. The final 200 echoes the
//! client's `x-ms-activity-id` as the gateway does; the 429s carry none, as in the seed. The
//! driver draws its activity ids from its seed, so the generated id is replaced by the seed's
//! in the output before comparing.

use std::time::Duration;

use sextant_core::diagnostics::{DiagnosticsOptions, DiagnosticsVerbosity};
use sextant_core::models::{AccountReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosDiagnostics, CosmosOperation, CosmosResponse, DriverOptions, OperationOptions,
    OutgoingRequest,
};
use sextant_tests::sim::{Answer, Sim, SIM_KEY};

const ACCOUNT_ENDPOINT: &str = "https://myaccount.documents.azure.com:443/";
const ACCOUNT_BODY: &str = r#"{"id":"myaccount","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://myaccount-westus2.documents.azure.com:443/"}],"readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://myaccount-westus2.documents.azure.com:443/"}],"enableMultipleWriteLocations":false,"userConsistencyPolicy":{"defaultConsistencyLevel":"Session"}}"#;

/// Per-attempt latencies of the seed's throttled example (ten 429/3200, then the 200).
const LATENCIES_MS: [u64; 11] = [45, 52, 78, 120, 189, 312, 456, 623, 780, 890, 28];
/// The seed's total for that example.
const TOTAL_MS: u64 = 4523;
/// Retry-after of the first nine 429s; the tenth is tuned so the total is [`TOTAL_MS`].
const RETRY_AFTER_MS: u64 = 95;

const SEED_READ_ID: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
const SEED_THROTTLED_ID: &str = "b2c3d4e5-f6a7-8901-bcde-f12345678901";

/// The seed's "Successful Read Item (Detailed)" example, verbatim.
const SEED_READ_DETAILED: &str = include_str!("../golden/diagnostics/seed_read_detailed.json");

/// The seed's "10 × 429/3200 Retries Then Success", Detailed, verbatim.
const SEED_THROTTLED_DETAILED: &str =
    include_str!("../golden/diagnostics/seed_throttled_detailed.json");

/// The same operation in Summary form, verbatim.
const SEED_THROTTLED_SUMMARY: &str =
    include_str!("../golden/diagnostics/seed_throttled_summary.json");

fn sim(options: DriverOptions) -> Sim {
    let account = AccountReference::with_master_key(ACCOUNT_ENDPOINT, SIM_KEY).unwrap();
    let mut sim = Sim::with_account(11, options, account);
    sim.account_answer = Some(Answer::Status {
        status: 200,
        sub_status: None,
        retry_after_ms: None,
        body: ACCOUNT_BODY,
        latency: Duration::from_millis(3),
    });
    // Warm up: account, container and pk-range reads belong to this first operation.
    let op = read_op(&sim);
    sim.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    sim
}

fn read_op(sim: &Sim) -> CosmosOperation {
    CosmosOperation::read(ItemReference::from_name(
        sim.account.clone(),
        "myDatabase",
        "myContainer",
        "doc_001",
    ))
    .with_partition_key(PartitionKey::from("pk"))
}

/// A 200 carrying 1 RU and the request's activity id, `latency_ms` later.
fn ok_echoing(req: &OutgoingRequest, latency_ms: u64) -> Answer {
    let activity = req
        .headers
        .get("x-ms-activity-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Answer::Full {
        status: 200,
        headers: vec![
            ("x-ms-request-charge", "1".to_string()),
            ("x-ms-activity-id", activity.to_string()),
        ],
        body: r#"{"id":"doc_001","pk":"pk"}"#.to_string(),
        latency: Duration::from_millis(latency_ms),
    }
}

fn throttled(latency_ms: u64, retry_after_ms: u64) -> Answer {
    Answer::Status {
        status: 429,
        sub_status: Some(3200),
        retry_after_ms: Some(retry_after_ms),
        body: r#"{"code":"TooManyRequests","message":"Request rate is large"}"#,
        latency: Duration::from_millis(latency_ms),
    }
}

fn throttled_run(last_retry_after_ms: u64) -> CosmosResponse {
    let mut sim = sim(DriverOptions::builder()
        .max_throttle_retries(10)
        .build()
        .unwrap());
    let op = read_op(&sim);
    sim.run(op, OperationOptions::new(), |i, req| match i {
        0..=8 => throttled(LATENCIES_MS[i], RETRY_AFTER_MS),
        9 => throttled(LATENCIES_MS[i], last_retry_after_ms),
        _ => ok_echoing(req, LATENCIES_MS[10]),
    })
    .unwrap()
}

/// The driver adds a seeded jitter (< 5 ms) to every 429 wait; a first run with the same seed
/// measures it, and the last retry-after absorbs it so the total is the seed's 4523 ms.
fn seed_throttled_operation() -> CosmosResponse {
    let probe = throttled_run(RETRY_AFTER_MS)
        .diagnostics()
        .elapsed()
        .as_millis() as u64;
    let r = throttled_run(RETRY_AFTER_MS + TOTAL_MS - probe);
    assert_eq!(r.diagnostics().elapsed(), Duration::from_millis(TOTAL_MS));
    r
}

/// The seed's text without insignificant whitespace.
fn compact(pretty: &str) -> String {
    let (mut out, mut in_str, mut esc) = (String::new(), false, false);
    for c in pretty.chars() {
        if in_str {
            out.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Compares (1) the pretty form with the seed's text byte for byte, (2) the compact form with
/// the seed's text minus whitespace, (3) both as parsed JSON values.
fn assert_golden(
    d: &CosmosDiagnostics,
    verbosity: DiagnosticsVerbosity,
    seed_id: &str,
    expected: &str,
) {
    let generated = d.activity_id().to_string();
    let pretty = d
        .to_pretty_json_string(verbosity, &DiagnosticsOptions::default())
        .replace(&generated, seed_id);
    assert_eq!(
        pretty, expected,
        "{verbosity:?}: pretty text differs from the seed"
    );
    let one_line = d.to_json_string(verbosity).replace(&generated, seed_id);
    assert_eq!(
        one_line,
        compact(expected),
        "{verbosity:?}: compact text differs from the seed"
    );
    let got: serde_json::Value = serde_json::from_str(&one_line).unwrap();
    let want: serde_json::Value = serde_json::from_str(expected).unwrap();
    assert_eq!(got, want);
}

#[test]
fn successful_read_detailed_matches_the_seed() {
    let mut sim = sim(DriverOptions::default());
    let op = read_op(&sim);
    let r = sim
        .run(op, OperationOptions::new(), |_, req| ok_echoing(req, 23))
        .unwrap();
    assert_golden(
        r.diagnostics(),
        DiagnosticsVerbosity::Detailed,
        SEED_READ_ID,
        SEED_READ_DETAILED,
    );
}

#[test]
fn ten_throttles_then_success_detailed_matches_the_seed() {
    let r = seed_throttled_operation();
    assert_golden(
        r.diagnostics(),
        DiagnosticsVerbosity::Detailed,
        SEED_THROTTLED_ID,
        SEED_THROTTLED_DETAILED,
    );
}

#[test]
fn ten_throttles_then_success_summary_matches_the_seed() {
    let r = seed_throttled_operation();
    assert_golden(
        r.diagnostics(),
        DiagnosticsVerbosity::Summary,
        SEED_THROTTLED_ID,
        SEED_THROTTLED_SUMMARY,
    );
}

#[test]
fn summary_is_smaller_than_detailed_and_under_the_cap() {
    let r = seed_throttled_operation();
    let d = r.diagnostics();
    let detailed = d.to_json_string(DiagnosticsVerbosity::Detailed).len();
    let summary = d.to_json_string(DiagnosticsVerbosity::Summary).len();
    // The seed: ~2.8 KB and ~0.8 KB.
    assert!((2500..3100).contains(&detailed), "{detailed}");
    assert!((700..1000).contains(&summary), "{summary}");
}
