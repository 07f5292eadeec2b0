//! The `x-ms-date` header value, formatted once per second of wall time instead of once per
//! attempt.
//!
//! The value (RFC 1123, one-second resolution) is the same for every request signed within the
//! same second, so the driver keeps the last one: formatting it and checking it as a header value
//! cost about 600 instructions and one allocation per attempt. Which value an attempt gets
//! depends only on the wall time the host passed in, so replays stay deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderValue;

/// The last second of the year 9999, the latest instant an RFC 1123 date (four-digit year) can
/// express; `httpdate` panics beyond it.
const LAST_FORMATTABLE_SECOND: u64 = 253_402_300_799;

/// Length of an RFC 1123 date: `Sun, 06 Dec 2026 01:46:26 GMT`.
const LEN: usize = 29;

/// The `x-ms-date` value of the last second a request was signed in.
#[derive(Debug, Clone)]
pub(crate) struct DateCache {
    /// Whole seconds since the Unix epoch the value was formatted for.
    secs: u64,
    /// Kept as a string, checked once when formatted rather than on every attempt.
    text: String,
    /// The same text, shared: attempts clone it (a reference count) instead of copying it.
    value: HeaderValue,
}

impl Default for DateCache {
    fn default() -> Self {
        DateCache::format(0)
    }
}

impl DateCache {
    /// Makes the kept date the one for `wall`, formatting it again only when its second differs
    /// from the kept one; then [`DateCache::text`] and [`DateCache::value`] give it.
    ///
    /// A wall clock before 1970 is sent as the epoch and one past the year 9999 as its last
    /// second: neither is a real time, and the service rejects both as skewed (401), which
    /// reports the bad clock instead of panicking in the formatter.
    pub fn update(&mut self, wall: SystemTime) {
        let secs = clamped_secs(wall);
        if secs != self.secs {
            *self = DateCache::format(secs);
        }
    }

    /// The kept date as text: what the signature covers.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The kept date as a header value (shared: a clone is a reference count).
    pub fn value(&self) -> HeaderValue {
        self.value.clone()
    }

    fn format(secs: u64) -> DateCache {
        use std::io::Write as _;
        let mut text = [b' '; LEN];
        let date = httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(secs));
        // Always exactly 29 bytes for years 1970 to 9999; a short write leaves spaces.
        let _ = write!(&mut text[..], "{date}");
        let value = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&text))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        // RFC 1123 dates are ASCII: the check cannot fail.
        let text = String::from_utf8_lossy(&text).into_owned();
        DateCache { secs, text, value }
    }
}

/// Whole seconds since the Unix epoch, clamped to what an RFC 1123 date can express.
fn clamped_secs(wall: SystemTime) -> u64 {
    wall.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .min(LAST_FORMATTABLE_SECOND)
}

/// `wall` as an RFC 1123 date, clamped to 1970..=9999 (`httpdate::fmt_http_date` panics
/// outside it). For times that come from stored documents or tokens, such as a lease's
/// `timestampMs` or a change feed's start time.
pub(crate) fn http_date(wall: SystemTime) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(clamped_secs(wall)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(wall: SystemTime) -> String {
        httpdate::fmt_http_date(wall)
    }

    fn at(c: &mut DateCache, wall: SystemTime) -> (String, HeaderValue) {
        c.update(wall);
        (c.text().to_owned(), c.value())
    }

    #[test]
    fn formats_like_httpdate_and_keeps_the_value_within_a_second() {
        let mut c = DateCache::default();
        let t = UNIX_EPOCH + Duration::from_millis(1_765_000_000_250);
        let (text, value) = at(&mut c, t);
        assert_eq!(text, date(t));
        assert_eq!(value.to_str().ok(), Some(text.as_str()));
        // Later in the same second: the same value, shared, not formatted again.
        let (again, value_again) = at(&mut c, t + Duration::from_millis(700));
        assert_eq!(again, date(t));
        assert_eq!(value_again.as_bytes().as_ptr(), value.as_bytes().as_ptr());
        // The next second, and going back in time: formatted for that second.
        let next = t + Duration::from_millis(750);
        assert_eq!(at(&mut c, next).0, date(next));
        assert_eq!(at(&mut c, t).0, date(t));
    }

    #[test]
    fn an_impossible_wall_clock_is_clamped_instead_of_panicking() {
        let mut c = DateCache::default();
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(at(&mut c, before_epoch).0, "Thu, 01 Jan 1970 00:00:00 GMT");
        let far = UNIX_EPOCH + Duration::from_secs(LAST_FORMATTABLE_SECOND + 1_000_000);
        assert_eq!(at(&mut c, far).0, "Fri, 31 Dec 9999 23:59:59 GMT");
        let stored = UNIX_EPOCH + Duration::from_millis(u64::MAX);
        assert_eq!(http_date(stored), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
