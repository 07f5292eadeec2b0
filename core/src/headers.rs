//! Header names the protocol uses and typed access to response headers.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::diagnostics::ServiceActivityId;

/// Header names (lowercase, as `http` stores them).
pub mod names {
    use http::HeaderName;

    /// `authorization`
    pub const AUTHORIZATION: HeaderName = http::header::AUTHORIZATION;
    /// `x-ms-date`
    pub const X_MS_DATE: HeaderName = HeaderName::from_static("x-ms-date");
    /// `x-ms-version`
    pub const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
    /// `x-ms-cosmos-sdk-supportedcapabilities`: what the client handles (a bitmask; 1 =
    /// partition merge, as the JS SDK sends it).
    pub const SDK_SUPPORTED_CAPABILITIES: HeaderName =
        HeaderName::from_static("x-ms-cosmos-sdk-supportedcapabilities");
    /// `x-ms-activity-id`
    pub const ACTIVITY_ID: HeaderName = HeaderName::from_static("x-ms-activity-id");
    /// `x-ms-request-charge`
    pub const REQUEST_CHARGE: HeaderName = HeaderName::from_static("x-ms-request-charge");
    /// `x-ms-session-token`
    pub const SESSION_TOKEN: HeaderName = HeaderName::from_static("x-ms-session-token");
    /// `x-ms-substatus`
    pub const SUB_STATUS: HeaderName = HeaderName::from_static("x-ms-substatus");
    /// `x-ms-retry-after-ms`
    pub const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");
    /// `x-ms-continuation`
    pub const CONTINUATION: HeaderName = HeaderName::from_static("x-ms-continuation");
    /// `x-ms-item-count`
    pub const ITEM_COUNT: HeaderName = HeaderName::from_static("x-ms-item-count");
    /// `etag`
    pub const ETAG: HeaderName = http::header::ETAG;
    /// `if-match`
    pub const IF_MATCH: HeaderName = http::header::IF_MATCH;
    /// `if-none-match`
    pub const IF_NONE_MATCH: HeaderName = http::header::IF_NONE_MATCH;
    /// `x-ms-documentdb-partitionkey`
    pub const PARTITION_KEY: HeaderName = HeaderName::from_static("x-ms-documentdb-partitionkey");
    /// `x-ms-documentdb-is-upsert`
    pub const IS_UPSERT: HeaderName = HeaderName::from_static("x-ms-documentdb-is-upsert");
    /// `x-ms-cosmos-is-batch-request` (§8.2)
    pub const IS_BATCH_REQUEST: HeaderName =
        HeaderName::from_static("x-ms-cosmos-is-batch-request");
    /// `x-ms-cosmos-batch-atomic` (§8.2)
    pub const BATCH_ATOMIC: HeaderName = HeaderName::from_static("x-ms-cosmos-batch-atomic");
    /// `x-ms-cosmos-batch-continue-on-error` (§8.2)
    pub const BATCH_CONTINUE_ON_ERROR: HeaderName =
        HeaderName::from_static("x-ms-cosmos-batch-continue-on-error");
    /// `x-ms-consistency-level`
    pub const CONSISTENCY_LEVEL: HeaderName = HeaderName::from_static("x-ms-consistency-level");
    /// `prefer`
    pub const PREFER: HeaderName = HeaderName::from_static("prefer");
    /// `x-ms-cosmos-hub-region-processing-only`
    pub const HUB_REGION_ONLY: HeaderName =
        HeaderName::from_static("x-ms-cosmos-hub-region-processing-only");
    /// `x-ms-cosmos-allow-tentative-writes` (writes on multi-write accounts)
    pub const ALLOW_TENTATIVE_WRITES: HeaderName =
        HeaderName::from_static("x-ms-cosmos-allow-tentative-writes");
    /// `a-im` (`Incremental Feed` for change feeds, including the pk-range feed)
    pub const A_IM: HeaderName = HeaderName::from_static("a-im");
    /// `if-modified-since` (a change feed's point-in-time start)
    pub const IF_MODIFIED_SINCE: HeaderName = http::header::IF_MODIFIED_SINCE;
    /// `x-ms-cosmos-changefeed-wire-format-version` (all-versions-and-deletes envelopes)
    pub const CHANGE_FEED_WIRE_FORMAT: HeaderName =
        HeaderName::from_static("x-ms-cosmos-changefeed-wire-format-version");
    /// `x-ms-max-item-count`
    pub const MAX_ITEM_COUNT: HeaderName = HeaderName::from_static("x-ms-max-item-count");
    /// `x-ms-documentdb-isquery` (PROTOCOL.md §7.1)
    pub const IS_QUERY: HeaderName = HeaderName::from_static("x-ms-documentdb-isquery");
    /// `x-ms-documentdb-query-enablecrosspartition`
    pub const ENABLE_CROSS_PARTITION: HeaderName =
        HeaderName::from_static("x-ms-documentdb-query-enablecrosspartition");
    /// `x-ms-documentdb-partitionkeyrangeid`: the range a fanned-out request targets (§7.5)
    pub const PARTITION_KEY_RANGE_ID: HeaderName =
        HeaderName::from_static("x-ms-documentdb-partitionkeyrangeid");
    /// `x-ms-cosmos-is-query-plan-request` (§7.2)
    pub const IS_QUERY_PLAN_REQUEST: HeaderName =
        HeaderName::from_static("x-ms-cosmos-is-query-plan-request");
    /// `x-ms-cosmos-supported-query-features` (§7.2)
    pub const SUPPORTED_QUERY_FEATURES: HeaderName =
        HeaderName::from_static("x-ms-cosmos-supported-query-features");
    /// `x-ms-cosmos-query-version` (§7.2)
    pub const QUERY_VERSION: HeaderName = HeaderName::from_static("x-ms-cosmos-query-version");
    /// `x-ms-documentdb-populatequerymetrics`
    pub const POPULATE_QUERY_METRICS: HeaderName =
        HeaderName::from_static("x-ms-documentdb-populatequerymetrics");
    /// `x-ms-cosmos-populateindexmetrics`
    pub const POPULATE_INDEX_METRICS: HeaderName =
        HeaderName::from_static("x-ms-cosmos-populateindexmetrics");
    /// `x-ms-start-epk` / `x-ms-end-epk` / `x-ms-read-key-type`: a request that covers only part
    /// of a physical range (§7.5)
    pub const START_EPK: HeaderName = HeaderName::from_static("x-ms-start-epk");
    /// See [`START_EPK`].
    pub const END_EPK: HeaderName = HeaderName::from_static("x-ms-end-epk");
    /// See [`START_EPK`].
    pub const READ_KEY_TYPE: HeaderName = HeaderName::from_static("x-ms-read-key-type");
    /// `x-ms-documentdb-query-metrics` (answer to `POPULATE_QUERY_METRICS`)
    pub const QUERY_METRICS: HeaderName = HeaderName::from_static("x-ms-documentdb-query-metrics");
    /// `x-ms-cosmos-index-utilization` (answer to `POPULATE_INDEX_METRICS`)
    pub const INDEX_METRICS: HeaderName = HeaderName::from_static("x-ms-cosmos-index-utilization");
}

/// The `x-ms-version` every current SDK sends (PROTOCOL.md §2).
pub const API_VERSION: &str = "2020-07-15";

/// A response header whose value could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response header {name}: cannot parse {value:?}: {reason}")]
pub struct HeaderError {
    /// The header's name.
    pub name: &'static str,
    /// The raw value (lossy UTF-8).
    pub value: String,
    /// What was expected.
    pub reason: &'static str,
}

/// Typed view of the response headers Cosmos DB sends, with the raw map kept alongside.
///
/// Parsing is lenient: a malformed value never fails an operation whose outcome the service has
/// already decided (a successful write must not be reported as failed because of a bad RU header).
/// The typed accessor then returns `None` and the problem is kept in [`ResponseHeaders::problems`].
#[derive(Debug, Clone, Default)]
pub struct ResponseHeaders {
    raw: HeaderMap,
    /// The first `x-ms-session-token` value, found by [`ResponseHeaders::parse`]'s pass.
    session_token: Option<HeaderValue>,
    /// The first `x-ms-activity-id` value, found the same way, kept as text (a GUID fits
    /// inline): no clone of the header value, which is an allocation when the transport's
    /// values own their bytes (ureq's do).
    activity_id: Option<ServiceActivityId>,
    request_charge: Option<f64>,
    sub_status: Option<u32>,
    item_count: Option<u64>,
    retry_after: Option<Duration>,
    problems: Vec<HeaderError>,
}

impl ResponseHeaders {
    /// Parses the headers Cosmos DB documents; keeps every header in the raw map.
    pub fn parse(raw: HeaderMap) -> Self {
        // One pass over the map instead of a hashed lookup per header: a lookup hashes the
        // name and compares it, about 190 instructions each, and a point operation made six
        // (four here, the session token and the activity id later). The first value of a
        // repeated header is the one kept, as `HeaderMap::get` would return it.
        let mut found: [Option<&HeaderValue>; 4] = [None; 4];
        let mut session_token = None;
        let mut activity_id = None;
        for (name, value) in &raw {
            let slot = match name.as_str() {
                "x-ms-request-charge" => &mut found[0],
                "x-ms-substatus" => &mut found[1],
                "x-ms-item-count" => &mut found[2],
                "x-ms-retry-after-ms" => &mut found[3],
                "x-ms-session-token" => {
                    session_token.get_or_insert_with(|| value.clone());
                    continue;
                }
                "x-ms-activity-id" => {
                    // The first value decides, as `HeaderMap::get` would (an unreadable first
                    // value is no activity id, whatever follows).
                    activity_id
                        .get_or_insert_with(|| value.to_str().ok().map(ServiceActivityId::new));
                    continue;
                }
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        let [charge, sub_status, item_count, retry_after] = found;
        let mut problems = Vec::new();
        let request_charge = parse_with(
            charge,
            "x-ms-request-charge",
            &mut problems,
            |s| s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0),
            "a non-negative decimal number",
        );
        let sub_status = parse_with(
            sub_status,
            "x-ms-substatus",
            &mut problems,
            |s| s.parse::<u32>().ok(),
            "an unsigned integer",
        );
        let item_count = parse_with(
            item_count,
            "x-ms-item-count",
            &mut problems,
            |s| s.parse::<u64>().ok(),
            "an unsigned integer",
        );
        let retry_after = parse_with(
            retry_after,
            "x-ms-retry-after-ms",
            &mut problems,
            |s| {
                // Some gateways send a decimal; Cosmos documents milliseconds.
                s.parse::<u64>().ok().or_else(|| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v >= 0.0)
                        .map(|v| v as u64)
                })
            },
            "milliseconds as an unsigned number",
        )
        .map(Duration::from_millis);
        ResponseHeaders {
            raw,
            session_token,
            activity_id: activity_id.flatten(),
            request_charge,
            sub_status,
            item_count,
            retry_after,
            problems,
        }
    }

    /// The raw header map.
    pub fn raw(&self) -> &HeaderMap {
        &self.raw
    }

    /// A raw header as text, if present and valid UTF-8.
    pub fn get_str(&self, name: &HeaderName) -> Option<&str> {
        self.raw.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-ms-request-charge` in request units (0 when absent or malformed).
    pub fn request_charge(&self) -> f64 {
        self.request_charge.unwrap_or(0.0)
    }

    /// `x-ms-activity-id`.
    pub fn activity_id(&self) -> Option<&str> {
        self.activity_id.as_ref().map(ServiceActivityId::as_str)
    }

    /// `x-ms-activity-id` as the diagnostics keep it (a copy, no second validation).
    pub(crate) fn service_activity_id(&self) -> Option<ServiceActivityId> {
        self.activity_id.clone()
    }

    /// `x-ms-session-token`.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().and_then(|v| v.to_str().ok())
    }

    /// `etag`.
    pub fn etag(&self) -> Option<&str> {
        self.get_str(&names::ETAG)
    }

    /// `x-ms-continuation`.
    pub fn continuation(&self) -> Option<&str> {
        self.get_str(&names::CONTINUATION)
    }

    /// `x-ms-item-count`.
    pub fn item_count(&self) -> Option<u64> {
        self.item_count
    }

    /// `x-ms-substatus`.
    pub fn sub_status(&self) -> Option<u32> {
        self.sub_status
    }

    /// `x-ms-retry-after-ms`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Headers that were present but malformed.
    pub fn problems(&self) -> &[HeaderError] {
        &self.problems
    }
}

fn parse_with<T>(
    value: Option<&HeaderValue>,
    name: &'static str,
    problems: &mut Vec<HeaderError>,
    f: impl FnOnce(&str) -> Option<T>,
    reason: &'static str,
) -> Option<T> {
    let value = value?;
    let parsed = value.to_str().ok().map(str::trim).and_then(f);
    if parsed.is_none() {
        problems.push(HeaderError {
            name,
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            reason,
        });
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typed_headers_and_keeps_problems() {
        let mut m = HeaderMap::new();
        m.insert(names::REQUEST_CHARGE, HeaderValue::from_static("2.5"));
        m.insert(names::SUB_STATUS, HeaderValue::from_static("3200"));
        m.insert(names::RETRY_AFTER_MS, HeaderValue::from_static("abc"));
        let h = ResponseHeaders::parse(m);
        assert_eq!(h.request_charge(), 2.5);
        assert_eq!(h.sub_status(), Some(3200));
        assert_eq!(h.retry_after(), None);
        assert_eq!(h.problems().len(), 1);
        assert_eq!(h.problems()[0].name, "x-ms-retry-after-ms");
    }

    #[test]
    fn negative_or_nan_charge_is_a_problem() {
        for bad in ["-1", "NaN", "inf"] {
            let mut m = HeaderMap::new();
            m.insert(names::REQUEST_CHARGE, HeaderValue::from_static(bad));
            let h = ResponseHeaders::parse(m);
            assert_eq!(h.request_charge(), 0.0);
            assert_eq!(h.problems().len(), 1, "{bad}");
        }
    }

    /// The pass over the map finds every header `parse` and the accessors read (by the names
    /// in [`names`]), and keeps a repeated header's first value, as `HeaderMap::get` does.
    #[test]
    fn one_pass_finds_every_header_and_keeps_the_first_of_repeated_values() {
        let mut m = HeaderMap::new();
        m.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, first, second) in [
            (names::REQUEST_CHARGE, "1.5", "9"),
            (names::SUB_STATUS, "1002", "9"),
            (names::ITEM_COUNT, "7", "9"),
            (names::RETRY_AFTER_MS, "20", "9"),
            (names::SESSION_TOKEN, "0:-1#12", "0:-1#99"),
            (names::ACTIVITY_ID, "a-1", "a-2"),
        ] {
            m.append(name.clone(), HeaderValue::from_static(first));
            m.append(name, HeaderValue::from_static(second));
        }
        let h = ResponseHeaders::parse(m.clone());
        assert_eq!(h.request_charge(), 1.5);
        assert_eq!(h.sub_status(), Some(1002));
        assert_eq!(h.item_count(), Some(7));
        assert_eq!(h.retry_after(), Some(Duration::from_millis(20)));
        assert_eq!(
            h.session_token(),
            m.get(names::SESSION_TOKEN).and_then(|v| v.to_str().ok())
        );
        assert_eq!(h.session_token(), Some("0:-1#12"));
        assert_eq!(h.activity_id(), Some("a-1"));
        assert!(h.problems().is_empty());
        assert_eq!(h.raw().len(), 13);

        let empty = ResponseHeaders::parse(HeaderMap::new());
        assert_eq!((empty.session_token(), empty.activity_id()), (None, None));
        assert_eq!(empty.request_charge(), 0.0);

        // The first activity id decides, as `HeaderMap::get` would: an unreadable one (not
        // visible ASCII) is none, whatever follows; a long one is kept whole.
        let mut m = HeaderMap::new();
        m.append(
            names::ACTIVITY_ID,
            HeaderValue::from_bytes(b"\xff-id").unwrap(),
        );
        m.append(names::ACTIVITY_ID, HeaderValue::from_static("a-2"));
        assert_eq!(ResponseHeaders::parse(m).activity_id(), None);
        let long = "x".repeat(300);
        let mut m = HeaderMap::new();
        m.insert(names::ACTIVITY_ID, HeaderValue::from_str(&long).unwrap());
        assert_eq!(ResponseHeaders::parse(m).activity_id(), Some(long.as_str()));
    }
}
