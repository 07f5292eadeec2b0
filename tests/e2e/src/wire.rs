//! What the `-wire` raw baselines (`raw-wire`, `raw-ureq-wire`, `raw-hyper-wire`) do beyond the
//! minimal ones: the wire work of a hand-written application that follows the protocol the way
//! the official SDKs (and Sextant) do, so that "identical work" can be compared as well as the
//! strict minimum.
//!
//! Per request, in Sextant's order (`core/src/execution/prepared.rs`: the static headers, then
//! the attempt's date, signature and session token):
//!
//! | header | value |
//! |---|---|
//! | `x-ms-version` | `2020-07-15` |
//! | `x-ms-cosmos-sdk-supportedcapabilities` | `1` |
//! | `user-agent` | [`USER_AGENT`], about as long as Sextant's `sextant/0.1.0 (sans-io core)` |
//! | `accept` | `application/json` |
//! | `x-ms-activity-id` | a UUID string per request, formatted from a counter ([`Wire::activity_id`]) |
//! | `x-ms-documentdb-partitionkey` | `["<pk>"]` |
//! | `content-type` | `application/json` (creates only) |
//! | `x-ms-date` | RFC 1123 date |
//! | `authorization` | master-key signature |
//! | `x-ms-session-token` | reads only, when a previous response carried one (Session consistency) |
//!
//! (`host` and `content-length` are added by the HTTP client, as for Sextant's transports.)
//! The headers are built into a map sized for them up front ([`Wire::request_headers`], as
//! Sextant sizes its own) and handed to the client whole (`reqwest::Request::headers_mut`,
//! `http::Request` for ureq's `Agent::run` and hyper), so the map never grows.
//!
//! Per response ([`Wire::read_response`]), what Sextant's core reads on a point operation
//! (`ResponseHeaders::parse` and the session capture in `core/src/execution/inputs.rs`):
//! `x-ms-session-token` is kept for the next read, `x-ms-request-charge` is parsed as `f64`, and
//! `x-ms-activity-id` is read. Kept favourable to raw: the activity id comes from an atomic
//! counter (no random numbers, no clock or syscall per request), the session token is stored
//! as-is (Sextant parses and merges it per partition), and the headers Sextant also looks up on
//! every response (`x-ms-substatus`, `x-ms-item-count`, `x-ms-retry-after-ms`) are not.
//!
//! The local test server sends no `x-ms-session-token`, so neither Sextant nor these baselines
//! send one there; the capture is still done (a lookup that misses).
//!
//! The `-wire-app` variants (`raw-wire-app`, `raw-ureq-wire-app`, `raw-hyper-wire-app`;
//! [`Wire::application`]) add what an application or an official SDK does on top: the HMAC is
//! keyed again from the base64 key for every request (`MasterKey::parse`, as the SDKs and
//! `sign_master_key` do; Sextant keys it once per driver) and the response body is deserialized
//! into the application's item type ([`crate::workload::Item`]). They are compared with the
//! Sextant clients that deserialize the same way (`tokio-app`, `blocking-app`, `async-std-app`),
//! so the deserialization is work on both sides and only the re-keying differs.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use sextant_core::auth::MasterKey;

/// `x-ms-version`.
pub const X_MS_VERSION: HeaderName = HeaderName::from_static("x-ms-version");
/// `x-ms-cosmos-sdk-supportedcapabilities`.
pub const X_MS_CAPABILITIES: HeaderName =
    HeaderName::from_static("x-ms-cosmos-sdk-supportedcapabilities");
/// `x-ms-activity-id`.
pub const X_MS_ACTIVITY_ID: HeaderName = HeaderName::from_static("x-ms-activity-id");
/// `x-ms-documentdb-partitionkey`.
pub const X_MS_PK: HeaderName = HeaderName::from_static("x-ms-documentdb-partitionkey");
/// `x-ms-date`.
pub const X_MS_DATE: HeaderName = HeaderName::from_static("x-ms-date");
/// `x-ms-session-token`.
pub const X_MS_SESSION_TOKEN: HeaderName = HeaderName::from_static("x-ms-session-token");
/// `x-ms-request-charge`.
pub const X_MS_REQUEST_CHARGE: HeaderName = HeaderName::from_static("x-ms-request-charge");

/// `2020-07-15`.
pub const VERSION: HeaderValue = HeaderValue::from_static("2020-07-15");
/// `1` (partition merge), as Sextant sends it.
pub const CAPABILITIES: HeaderValue = HeaderValue::from_static("1");
/// The user agent: 29 bytes, Sextant's is 28.
pub const USER_AGENT: HeaderValue = HeaderValue::from_static("raw-wire/0.1.0 (hand-written)");
/// `application/json` (`accept`, and `content-type` on creates).
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The per-client state of the wire variant: the activity id counter and the session token.
pub struct Wire {
    /// The high 64 bits of every activity id (fixed per client).
    id_high: u64,
    /// The low 64 bits: one more per request.
    next_id: AtomicU64,
    /// The last session token a response carried (one container, so one token).
    session: Mutex<Option<HeaderValue>>,
    /// The `-wire-app` variants: the base64 account key, keyed again for every request.
    app_key: Option<String>,
}

impl Default for Wire {
    fn default() -> Self {
        Wire::new()
    }
}

impl Wire {
    /// Fresh state. The high half of the ids is taken from the clock once, here.
    pub fn new() -> Wire {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Wire {
            id_high: nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            next_id: AtomicU64::new(1),
            session: Mutex::new(None),
            app_key: None,
        }
    }

    /// The `-wire-app` state: as [`Wire::new`], and [`Wire::sign`] keys the HMAC again from
    /// `key_base64` for every request, [`Wire::read_body`] deserializes the body.
    pub fn application(key_base64: &str) -> Wire {
        Wire {
            app_key: Some(key_base64.to_owned()),
            ..Wire::new()
        }
    }

    /// The request's signature: with the client's pre-keyed `key`, or (`-wire-app`) with a key
    /// decoded and keyed for this request alone, as an application or SDK signs.
    pub fn sign(
        &self,
        key: &MasterKey,
        verb: &str,
        resource_type: &str,
        link: &str,
        date: &str,
    ) -> Result<String, String> {
        match &self.app_key {
            Some(b64) => {
                let key = MasterKey::parse(b64).map_err(|e| format!("key: {e}"))?;
                Ok(key.sign(verb, resource_type, link, date))
            }
            None => Ok(key.sign(verb, resource_type, link, date)),
        }
    }

    /// What the client does with the response body: nothing, or (`-wire-app`) deserialize it
    /// into the application's item.
    pub fn read_body(&self, body: &[u8]) -> Result<(), String> {
        if self.app_key.is_some() {
            crate::workload::Item::parse(body)?;
        }
        Ok(())
    }

    /// The next activity id: a version-4-shaped UUID string (`8-4-4-4-12` lowercase hex) from
    /// the counter, formatted on the stack and copied into the header value.
    pub fn activity_id(&self) -> HeaderValue {
        let low = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut v = (u128::from(self.id_high) << 64) | u128::from(low);
        // Version 4, RFC 4122 variant.
        v = (v & !(0xf << 76)) | (0x4 << 76);
        v = (v & !(0x3 << 62)) | (0x2 << 62);
        let mut buf = [0u8; 36];
        format_uuid(v, &mut buf);
        // Hex digits and dashes only: always a valid header value.
        HeaderValue::from_bytes(&buf).unwrap_or(HeaderValue::from_static(""))
    }

    /// An item request's headers, in Sextant's order, in a map sized for them up front (as
    /// Sextant sizes its own: 12), so that it never grows. `date` and `auth` are the attempt's
    /// `x-ms-date` and signature; a create (`create`) gets `content-type`, a read the session
    /// token when one was captured. `host` (and `content-length`) are the HTTP client's.
    pub fn request_headers(
        &self,
        pk: &str,
        create: bool,
        date: String,
        auth: String,
    ) -> Result<HeaderMap, String> {
        let value = |v: String| HeaderValue::try_from(v).map_err(|e| format!("header: {e}"));
        let mut h = HeaderMap::with_capacity(12);
        h.insert(X_MS_VERSION, VERSION);
        h.insert(X_MS_CAPABILITIES, CAPABILITIES);
        h.insert(http::header::USER_AGENT, USER_AGENT);
        h.insert(http::header::ACCEPT, JSON);
        h.insert(X_MS_ACTIVITY_ID, self.activity_id());
        h.insert(X_MS_PK, value(format!("[\"{pk}\"]"))?);
        if create {
            h.insert(http::header::CONTENT_TYPE, JSON);
        }
        h.insert(X_MS_DATE, value(date)?);
        h.insert(http::header::AUTHORIZATION, value(auth)?);
        // Session consistency: reads send the token of the last response (writes do not).
        if !create {
            if let Some(token) = self.session_token() {
                h.insert(X_MS_SESSION_TOKEN, token);
            }
        }
        Ok(h)
    }

    /// The session token to send on a read, if one was captured.
    pub fn session_token(&self) -> Option<HeaderValue> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    /// Reads what Sextant reads from a point operation's response: stores the session token,
    /// parses the request charge and reads the activity id (both kept from being optimized away).
    pub fn read_response(&self, headers: &HeaderMap) {
        if let Some(token) = headers.get(X_MS_SESSION_TOKEN) {
            if let Ok(mut s) = self.session.lock() {
                *s = Some(token.clone());
            }
        }
        let charge = headers
            .get(X_MS_REQUEST_CHARGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        black_box(charge);
        let activity = headers.get(X_MS_ACTIVITY_ID).and_then(|v| v.to_str().ok());
        black_box(activity);
    }
}

/// Writes `v` as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, a byte (two digits) at a time.
fn format_uuid(v: u128, out: &mut [u8; 36]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pos = 0;
    for (i, b) in v.to_be_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[pos] = b'-';
            pos += 1;
        }
        out[pos] = HEX[usize::from(b >> 4)];
        out[pos + 1] = HEX[usize::from(b & 0xf)];
        pos += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_are_in_sextant_order() {
        let w = Wire::new();
        let names = |h: &HeaderMap| h.keys().map(|k| k.as_str().to_owned()).collect::<Vec<_>>();
        let read = w
            .request_headers("p", false, "date".into(), "sig".into())
            .unwrap();
        assert_eq!(
            names(&read),
            [
                "x-ms-version",
                "x-ms-cosmos-sdk-supportedcapabilities",
                "user-agent",
                "accept",
                "x-ms-activity-id",
                "x-ms-documentdb-partitionkey",
                "x-ms-date",
                "authorization"
            ]
        );
        assert_eq!(read[X_MS_PK], "[\"p\"]");
        let mut resp = HeaderMap::new();
        resp.insert(X_MS_SESSION_TOKEN, HeaderValue::from_static("0:-1#12"));
        w.read_response(&resp);
        let read = w
            .request_headers("p", false, "date".into(), "sig".into())
            .unwrap();
        assert_eq!(names(&read).last().unwrap(), "x-ms-session-token");
        let create = w
            .request_headers("p", true, "date".into(), "sig".into())
            .unwrap();
        assert_eq!(names(&create)[6], "content-type");
        assert!(!create.contains_key(X_MS_SESSION_TOKEN));
    }

    #[test]
    fn activity_ids_are_distinct_uuid_strings() {
        let w = Wire::new();
        let a = w.activity_id();
        let b = w.activity_id();
        assert_ne!(a, b);
        let s = a.to_str().unwrap();
        assert_eq!(s.len(), 36);
        let parts: Vec<&str> = s.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(s.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn application_variant_rekeys_and_deserializes() {
        let b64 = crate::sextant_core_key();
        let key = MasterKey::parse(&b64).unwrap();
        let (plain, app) = (Wire::new(), Wire::application(&b64));
        let date = "Tue, 15 Nov 1994 08:12:31 GMT";
        let want = key.sign("GET", "docs", "dbs/d/colls/c/docs/i", date);
        assert_eq!(
            plain
                .sign(&key, "GET", "docs", "dbs/d/colls/c/docs/i", date)
                .unwrap(),
            want
        );
        assert_eq!(
            app.sign(&key, "GET", "docs", "dbs/d/colls/c/docs/i", date)
                .unwrap(),
            want
        );
        let item = crate::workload::item_body("i", "p", 3);
        assert!(plain.read_body(b"not json").is_ok());
        assert!(app.read_body(item.as_bytes()).is_ok());
        assert!(app.read_body(b"not json").is_err());
        assert!(Wire::application("not base64!")
            .sign(&key, "GET", "docs", "x", date)
            .is_err());
    }

    #[test]
    fn format_uuid_places_every_nibble() {
        let mut buf = [0u8; 36];
        format_uuid(0x0123_4567_89ab_cdef_0011_2233_4455_6677, &mut buf);
        assert_eq!(&buf, b"01234567-89ab-cdef-0011-223344556677");
    }

    #[test]
    fn session_token_is_captured_and_replayed() {
        let w = Wire::new();
        assert!(w.session_token().is_none());
        let mut h = HeaderMap::new();
        h.insert(X_MS_REQUEST_CHARGE, HeaderValue::from_static("1.5"));
        w.read_response(&h);
        assert!(w.session_token().is_none());
        h.insert(X_MS_SESSION_TOKEN, HeaderValue::from_static("0:-1#12"));
        w.read_response(&h);
        assert_eq!(w.session_token().unwrap(), "0:-1#12");
    }
}
