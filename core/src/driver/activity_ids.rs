//! `x-ms-activity-id` header values, written into a shared buffer instead of one allocation each.
//!
//! Every operation sends its activity id (36 ASCII bytes) on every attempt, so its header value
//! is shared (`Bytes`). Allocating it on its own cost one allocation per operation; here the
//! values are cut from a buffer with room for [`IDS_PER_BUFFER`] of them, which is freed when
//! the last value cut from it is dropped. A value lives as long as its operation (the
//! diagnostics keep the 16-byte [`ActivityId`], not the header value), so the buffers alive at
//! any time are bounded by the operations in flight: at most one buffer
//! ([`IDS_PER_BUFFER`] × 36 bytes, 2.3 KB) per operation still running, and usually a few for
//! the whole driver.

use bytes::BytesMut;
use http::HeaderValue;

use crate::ids::ActivityId;

/// Activity ids per buffer: 64 × 36 bytes = 2,304 bytes, one allocation (and the shared
/// counter's, at the first cut) per 64 operations instead of one per operation.
pub(crate) const IDS_PER_BUFFER: usize = 64;

/// Length of an activity id's text (a UUID's canonical form).
const ID_LEN: usize = 36;

/// The buffer the next activity ids' header values are cut from.
#[derive(Debug, Default)]
pub(crate) struct ActivityIdValues {
    buf: BytesMut,
}

impl ActivityIdValues {
    /// The `x-ms-activity-id` header value of `id`.
    pub fn header_value(&mut self, id: &ActivityId) -> HeaderValue {
        if self.buf.capacity() - self.buf.len() < ID_LEN {
            // A fresh buffer: the previous one stays alive only through the values cut from it.
            self.buf = BytesMut::with_capacity(IDS_PER_BUFFER * ID_LEN);
        }
        self.buf.extend_from_slice(&id.to_ascii());
        // Hex digits and dashes are always a valid header value.
        HeaderValue::from_maybe_shared(self.buf.split().freeze())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::DetRng;

    #[test]
    fn each_value_is_its_own_id_across_buffers() {
        let mut rng = DetRng::new(7);
        let mut values = ActivityIdValues::default();
        let ids: Vec<ActivityId> = (0..IDS_PER_BUFFER * 3 + 5)
            .map(|_| ActivityId::generate(&mut rng))
            .collect();
        let headers: Vec<HeaderValue> = ids.iter().map(|id| values.header_value(id)).collect();
        for (id, h) in ids.iter().zip(&headers) {
            assert_eq!(h.to_str().ok(), Some(id.to_string().as_str()));
        }
        // Values outlive the buffer they were cut from being replaced.
        drop(values);
        assert_eq!(headers[0].to_str().ok(), Some(ids[0].to_string().as_str()));
        // A clone shares the bytes.
        let c = headers[1].clone();
        assert_eq!(c.as_bytes().as_ptr(), headers[1].as_bytes().as_ptr());
    }
}
