//! JSON pieces shared by the Detailed and Summary forms: the operation header and one request.

use super::json::JsonWriter;
use super::record::RequestDiagnostics;
use super::CosmosDiagnostics;
use crate::transport::RequestSent;

/// Longest escaped region name in Summary output (bytes, quotes included).
pub(crate) const SUMMARY_MAX_REGION: usize = 128;
/// Longest escaped endpoint in Summary output.
pub(crate) const SUMMARY_MAX_ENDPOINT: usize = 1024;
/// Longest escaped error text in Summary output.
pub(crate) const SUMMARY_MAX_ERROR: usize = 512;
/// Longest escaped service activity id in Summary output.
pub(crate) const SUMMARY_MAX_ACTIVITY_ID: usize = 128;

/// `activity_id`, `total_duration_ms`, `total_request_charge`, `request_count`.
pub(crate) fn write_header(d: &CosmosDiagnostics, w: &mut JsonWriter<'_>) {
    w.key("activity_id");
    let id = d.activity_id.to_ascii();
    w.str(std::str::from_utf8(&id).unwrap_or(""));
    w.field_u64("total_duration_ms", super::record::millis(d.duration));
    w.field_f64("total_request_charge", d.total_request_charge);
    w.field_u64("request_count", d.request_count);
}

/// How a request is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestStyle {
    /// Everything, strings unbounded, with its region and events.
    Detailed,
    /// Inside a region entry: no region, no events, bounded strings, and the service activity
    /// id only when it differs from the operation's.
    Summary,
}

/// One request object.
pub(crate) fn write_request(
    d: &CosmosDiagnostics,
    r: &RequestDiagnostics,
    style: RequestStyle,
    w: &mut JsonWriter<'_>,
) {
    let summary = style == RequestStyle::Summary;
    w.begin_object();
    w.field_str("execution_context", r.execution_context.as_str());
    if !summary {
        w.field_str("region", &r.region);
    }
    w.key("endpoint");
    if summary {
        w.str_limited(&r.endpoint, SUMMARY_MAX_ENDPOINT);
    } else {
        w.str(&r.endpoint);
    }
    if let Some(s) = r.status {
        w.field_u64("status_code", u64::from(s));
    }
    if let Some(s) = r.sub_status {
        w.field_u64("sub_status_code", u64::from(s));
    }
    w.field_f64("request_charge", r.request_charge);
    if let Some(a) = &r.activity_id {
        if !summary {
            w.field_str("activity_id", a);
        } else if a.as_bytes() != d.activity_id.to_ascii().as_slice() {
            w.key("activity_id");
            w.str_limited(a, SUMMARY_MAX_ACTIVITY_ID);
        }
    }
    w.field_u64("duration_ms", r.duration_ms());
    if r.request_sent != RequestSent::Sent {
        w.field_str("request_sent", r.request_sent.as_str());
    }
    if let Some(e) = &r.error {
        w.key("error");
        if summary {
            w.str_limited(e, SUMMARY_MAX_ERROR);
        } else {
            w.str(e);
        }
    }
    if !summary && !r.events_are_implied() {
        w.key("events");
        w.begin_array();
        for e in &r.events {
            w.element();
            w.begin_object();
            w.field_str("event_type", e.kind.as_str());
            w.field_u64("timestamp_ms", super::record::millis(e.at));
            if let Some(details) = &e.details {
                w.field_str("details", details);
            }
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();
}
