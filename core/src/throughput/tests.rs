//! The throughput flow against scripted service answers.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use super::*;
use crate::models::AccountReference;
use crate::operation::{OperationKind, ResourceType};

fn container() -> ContainerReference {
    let account =
        AccountReference::with_master_key("https://acct.documents.azure.com/", "a2V5").unwrap();
    ContainerReference::from_name(account, "db", "c")
}

fn ok(status: u16, body: Value, headers: &[(&'static str, &str)]) -> FlowInput {
    let mut h = HeaderMap::new();
    h.insert("x-ms-request-charge", HeaderValue::from_static("1"));
    for (n, v) in headers {
        h.insert(*n, HeaderValue::from_str(v).unwrap());
    }
    FlowInput::Response(Ok(CosmosResponse::from_parts(
        status,
        h,
        Bytes::from(body.to_string()),
    )))
}

fn offer(content: Value) -> Value {
    json!({"id": "OfR1", "_rid": "OfR1", "offerVersion": "V2", "offerType": "Invalid",
           "resource": "dbs/AA==/colls/AAB=/", "offerResourceId": "AAB=", "content": content})
}

fn sent(step: FlowStep) -> CosmosOperation {
    match step {
        FlowStep::Send(op) => op,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn done(step: FlowStep) -> Result<Option<ThroughputResponse>, CosmosError> {
    match step {
        FlowStep::Done(r) => r,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn body(op: &CosmosOperation) -> Value {
    serde_json::from_slice(op.body().unwrap()).unwrap()
}

#[test]
fn read_finds_the_offer_by_the_resource_rid() {
    let mut f = ThroughputFlow::read(container());
    let op = sent(f.step(FlowInput::Start));
    assert_eq!(
        (op.kind(), op.resource_type()),
        (OperationKind::Read, ResourceType::Container)
    );
    let op = sent(f.step(ok(200, json!({"id": "c", "_rid": "AAB="}), &[])));
    assert_eq!(op.resource_type(), ResourceType::Offer);
    assert_eq!(body(&op)["parameters"][0]["value"], "AAB=");
    let read = sent(f.step(ok(
        200,
        json!({"Offers": [offer(json!({"offerThroughput": 400}))]}),
        &[],
    )));
    assert_eq!(read.signing_address(), ("offers", "ofr1"));
    let r = done(f.step(ok(
        200,
        offer(json!({"offerThroughput": 400})),
        &[
            ("x-ms-cosmos-min-throughput", "400"),
            ("x-ms-offer-replace-pending", "true"),
        ],
    )))
    .unwrap()
    .unwrap();
    assert_eq!(r.throughput, Some(ThroughputProperties::Manual(400)));
    assert_eq!(r.min_throughput, Some(400));
    assert_eq!(
        (r.requests, r.request_charge, r.replace_pending),
        (3, 3.0, true)
    );
}

#[test]
fn a_resource_without_its_own_offer_reads_none_and_refuses_a_replace() {
    let mut f = ThroughputFlow::read(container());
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    assert!(done(f.step(ok(200, json!({"Offers": []}), &[])))
        .unwrap()
        .is_none());

    let mut f = ThroughputFlow::replace(container(), ThroughputProperties::Manual(500));
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    let err = done(f.step(ok(200, json!({"Offers": []}), &[]))).unwrap_err();
    assert!(
        err.message().contains("no throughput of its own"),
        "{err:?}"
    );
}

#[test]
fn replace_polls_a_pending_scale_until_done() {
    let mut f = ThroughputFlow::replace(container(), ThroughputProperties::Manual(10_000))
        .with_polling(Duration::from_millis(10), 5);
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    let put = sent(f.step(ok(
        200,
        json!({"Offers": [offer(json!({"offerThroughput": 400}))]}),
        &[],
    )));
    assert_eq!(put.kind(), OperationKind::Replace);
    assert_eq!(put.signing_address(), ("offers", "ofr1"));
    assert_eq!(body(&put)["content"], json!({"offerThroughput": 10000}));
    // 202: pending.
    let wait = f.step(ok(202, offer(json!({"offerThroughput": 400})), &[]));
    assert!(matches!(wait, FlowStep::Wait(d) if d == Duration::from_millis(10)));
    let read = sent(f.step(FlowInput::Waited));
    assert_eq!(read.kind(), OperationKind::Read);
    // Still pending by header.
    assert!(matches!(
        f.step(ok(
            200,
            offer(json!({"offerThroughput": 400})),
            &[("x-ms-offer-replace-pending", "true")]
        )),
        FlowStep::Wait(_)
    ));
    sent(f.step(FlowInput::Waited));
    let r = done(f.step(ok(
        200,
        offer(json!({"offerThroughput": 10000})),
        &[("x-ms-cosmos-min-throughput", "400")],
    )))
    .unwrap()
    .unwrap();
    assert_eq!(r.throughput, Some(ThroughputProperties::Manual(10_000)));
    assert_eq!(r.min_throughput, Some(400));
    assert!(!r.replace_pending);
}

#[test]
fn switching_modes_migrates_first_then_sets_the_value() {
    let goal = ThroughputProperties::autoscale(6000).unwrap();
    let mut f = ThroughputFlow::replace(container(), goal);
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    let migrate = sent(f.step(ok(
        200,
        json!({"Offers": [offer(json!({"offerThroughput": 400}))]}),
        &[],
    )));
    assert_eq!(body(&migrate)["content"], json!({"offerThroughput": -1}));
    assert!(migrate
        .headers
        .iter()
        .any(|(n, v)| n == "x-ms-cosmos-migrate-offer-to-autopilot" && v == "true"));
    // The service picked 4000 as the maximum: the flow then asks for 6000.
    let set = sent(f.step(ok(
        200,
        offer(json!({"offerThroughput": 400, "offerAutopilotSettings": {"maxThroughput": 4000}})),
        &[],
    )));
    assert_eq!(
        body(&set)["content"],
        json!({"offerAutopilotSettings": {"maxThroughput": 6000}})
    );
    let r = done(f.step(ok(
        200,
        offer(json!({"offerThroughput": 600, "offerAutopilotSettings": {"maxThroughput": 6000}})),
        &[],
    )))
    .unwrap()
    .unwrap();
    assert_eq!(r.throughput, Some(goal));
    assert_eq!(r.requests, 4);
}

#[test]
fn an_unchanged_value_sends_no_write_and_polling_gives_up_by_count() {
    let mut f = ThroughputFlow::replace(container(), ThroughputProperties::Manual(400));
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    let r = done(f.step(ok(
        200,
        json!({"Offers": [offer(json!({"offerThroughput": 400}))]}),
        &[],
    )));
    assert_eq!(r.unwrap().unwrap().requests, 2);

    let mut f = ThroughputFlow::replace(container(), ThroughputProperties::Manual(500))
        .with_polling(Duration::from_secs(1), 1);
    sent(f.step(FlowInput::Start));
    sent(f.step(ok(200, json!({"_rid": "AAB="}), &[])));
    sent(f.step(ok(
        200,
        json!({"Offers": [offer(json!({"offerThroughput": 400}))]}),
        &[],
    )));
    assert!(matches!(
        f.step(ok(202, offer(json!({"offerThroughput": 400})), &[])),
        FlowStep::Wait(_)
    ));
    sent(f.step(FlowInput::Waited));
    let r = done(f.step(ok(202, offer(json!({"offerThroughput": 400})), &[])))
        .unwrap()
        .unwrap();
    assert!(r.replace_pending);
}

#[test]
fn errors_and_garbage_end_the_flow_with_a_typed_error() {
    let mut f = ThroughputFlow::read(container());
    sent(f.step(FlowInput::Start));
    let err = done(f.step(ok(200, json!({"id": "c"}), &[]))).unwrap_err();
    assert!(err.message().contains("no _rid"), "{err:?}");
    let mut f = ThroughputFlow::read(container());
    assert!(done(f.step(FlowInput::Waited)).is_err());
}
