//! `container_properties` and `throughput_flow`: what issue 14 reads from the service.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use sextant_core::models::{AccountReference, ContainerProperties, ContainerReference};
use sextant_core::throughput::{FlowInput, FlowStep, ThroughputFlow};
use sextant_core::CosmosResponse;

use super::{ensure, ByteReader, Violation};

const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// Container properties as the service might return them: parsing never panics, and what parses
/// round-trips: serialized and parsed again it is the same value, and serializing that gives
/// the same bytes (unknown fields and values are kept, not dropped or reordered twice).
/// Validation of a parsed value never panics.
pub fn container_properties(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "container_properties";
    let Ok(props) = serde_json::from_slice::<ContainerProperties>(data) else {
        return Ok(());
    };
    let _ = props.validate();
    let Ok(once) = serde_json::to_vec(&props) else {
        return Err(Violation::new(
            T,
            "a parsed value does not serialize".into(),
        ));
    };
    let again: ContainerProperties = serde_json::from_slice(&once)
        .map_err(|e| Violation::new(T, format!("its own serialization does not parse: {e}")))?;
    ensure!(T, again == props, "the round trip changed the value");
    let twice = serde_json::to_vec(&again)
        .map_err(|e| Violation::new(T, format!("the second serialization failed: {e}")))?;
    ensure!(T, twice == once, "serializing is not stable");
    Ok(())
}

/// Poll budget of the flow under test (the bound on its length follows from it).
const MAX_POLLS: u32 = 3;
/// Requests the flow may send at most: resource, query, offer read or migrate + polls, replace
/// + polls.
const MAX_SENDS: usize = 2 + 2 * (1 + MAX_POLLS as usize);

/// A throughput read or replace fed arbitrary answers (status, pending header, minimum header,
/// body bytes): it never panics, ends with `Done` within its bound, and waits only as long as
/// it was told.
pub fn throughput_flow(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "throughput_flow";
    let mut r = ByteReader::new(data);
    let Ok(account) =
        AccountReference::with_master_key("https://fuzz.documents.azure.com:443/", KEY)
    else {
        return Err(Violation::new(T, "the fuzz account does not build".into()));
    };
    let container = ContainerReference::from_name(account, "db", "c");
    let goal = match r.below(3) {
        0 => None,
        1 => sextant_core::models::ThroughputProperties::manual(100 * (1 + u32::from(r.u8()))).ok(),
        _ => sextant_core::models::ThroughputProperties::autoscale(1000 * (1 + u32::from(r.u8())))
            .ok(),
    };
    let flow = match goal {
        Some(g) => ThroughputFlow::replace(container, g),
        None => ThroughputFlow::read(container),
    };
    let mut flow = flow.with_polling(std::time::Duration::from_millis(7), MAX_POLLS);
    let mut step = flow.step(FlowInput::Start);
    let mut sends = 0usize;
    loop {
        step = match step {
            FlowStep::Done(_) => return Ok(()),
            FlowStep::Wait(d) => {
                ensure!(
                    T,
                    d.as_millis() == 7,
                    "waited {d:?}, not the configured 7 ms"
                );
                flow.step(FlowInput::Waited)
            }
            FlowStep::Send(_) => {
                sends += 1;
                ensure!(T, sends <= MAX_SENDS, "more than {MAX_SENDS} requests");
                let status = [200u16, 201, 202, 204, 304, 400, 404][r.below(7)];
                let mut headers = HeaderMap::new();
                if r.bool() {
                    headers.insert(
                        "x-ms-offer-replace-pending",
                        HeaderValue::from_static("true"),
                    );
                }
                if r.bool() {
                    let v = r.string(12);
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        headers.insert("x-ms-cosmos-min-throughput", v);
                    }
                }
                let body = Bytes::copy_from_slice(r.len_prefixed(512));
                flow.step(FlowInput::Response(Ok(CosmosResponse::from_parts(
                    status, headers, body,
                ))))
            }
        };
    }
}
