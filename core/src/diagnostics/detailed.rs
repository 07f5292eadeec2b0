//! The Detailed JSON form: every retained request in full (the seed's "Detailed" example).
//!
//! Field order: `activity_id`, `total_duration_ms`, `total_request_charge`, `request_count`,
//! `requests` (the operation's own attempts in start order), then, only when non-empty or
//! non-zero, `metadata_requests` (account reads), `dropped_requests` (attempts whose full
//! record was not retained) and `ignored_inputs` (late answers ignored).

use super::json::JsonWriter;
use super::render::{write_header, write_request, RequestStyle};
use super::CosmosDiagnostics;

pub(crate) fn write_detailed(d: &CosmosDiagnostics, w: &mut JsonWriter<'_>) {
    w.begin_object();
    write_header(d, w);
    w.key("requests");
    w.begin_array();
    for r in d.requests.iter().filter(|r| !r.is_metadata()) {
        w.element();
        write_request(d, r, RequestStyle::Detailed, w);
    }
    w.end_array();
    if d.requests.iter().any(|r| r.is_metadata()) {
        w.key("metadata_requests");
        w.begin_array();
        for r in d.requests.iter().filter(|r| r.is_metadata()) {
            w.element();
            write_request(d, r, RequestStyle::Detailed, w);
        }
        w.end_array();
    }
    let dropped = d.dropped_requests();
    if dropped > 0 {
        w.field_u64("dropped_requests", dropped);
    }
    if d.ignored_inputs > 0 {
        w.field_u64("ignored_inputs", d.ignored_inputs);
    }
    w.end_object();
}
