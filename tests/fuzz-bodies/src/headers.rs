//! `response_headers`: arbitrary `name: value` lines → `HeaderMap` → [`ResponseHeaders::parse`].

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{ensure, Violation};
use sextant_core::headers::{names, ResponseHeaders};
use sextant_core::session::SessionTokenHeader;

const T: &str = "response_headers";

/// Most header lines decoded from one input.
const MAX_LINES: usize = 64;

/// The input is text-like: one header per line (`name: value`, `\n` or `\r\n` separated);
/// lines without `:` and invalid names or values are skipped, repeated names are appended.
/// Checks every accessor, that the raw map is kept unchanged, that a typed value is present
/// exactly when its header is present and well-formed, and that malformed ones are reported.
pub fn response_headers(data: &[u8]) -> Result<(), Violation> {
    let map = decode(data);
    let h = ResponseHeaders::parse(map.clone());
    ensure!(T, h.raw() == &map, "the raw map changed while parsing");

    let charge = h.request_charge();
    ensure!(
        T,
        charge.is_finite() && charge >= 0.0,
        "request_charge() is {charge}"
    );
    for (name, typed_present) in [
        (
            names::REQUEST_CHARGE,
            charge > 0.0 || has_problem(&h, "x-ms-request-charge"),
        ),
        (names::SUB_STATUS, h.sub_status().is_some()),
        (names::ITEM_COUNT, h.item_count().is_some()),
        (names::RETRY_AFTER_MS, h.retry_after().is_some()),
    ] {
        let problem = has_problem(&h, name.as_str());
        if map.contains_key(&name) {
            if name != names::REQUEST_CHARGE {
                ensure!(
                    T,
                    typed_present != problem,
                    "{name}: typed value present = {typed_present}, problem recorded = {problem}"
                );
            }
        } else {
            ensure!(
                T,
                !problem,
                "a problem is recorded for absent header {name}"
            );
            ensure!(
                T,
                !typed_present,
                "a value is reported for absent header {name}"
            );
        }
    }
    ensure!(
        T,
        h.problems().len() <= 4,
        "{} problems for 4 typed headers",
        h.problems().len()
    );
    for p in h.problems() {
        ensure!(T, !p.to_string().is_empty(), "empty problem message");
    }
    // The text accessors agree with the raw map.
    for (name, got) in [
        (names::ACTIVITY_ID, h.activity_id()),
        (names::SESSION_TOKEN, h.session_token()),
        (names::ETAG, h.etag()),
        (names::CONTINUATION, h.continuation()),
    ] {
        let raw = map.get(&name).and_then(|v| v.to_str().ok());
        ensure!(T, got == raw, "{name}: accessor {got:?}, raw {raw:?}");
    }
    if let Some(token) = h.session_token() {
        // Captured from every data-plane answer: must not panic on anything a server sends.
        let _ = SessionTokenHeader::parse(token);
    }
    let _ = format!("{h:?}");
    Ok(())
}

fn has_problem(h: &ResponseHeaders, name: &str) -> bool {
    h.problems().iter().any(|p| p.name == name)
}

fn decode(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in data.split(|b| *b == b'\n').take(MAX_LINES) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        let value = match value.iter().position(|b| *b != b' ') {
            Some(i) => value.get(i..).unwrap_or_default(),
            None => &[],
        };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            map.append(n, v);
        }
    }
    map
}
