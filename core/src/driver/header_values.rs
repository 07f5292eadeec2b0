//! Short header values that every request or operation sends afresh (activity ids, signatures,
//! partition keys), written into a shared buffer instead of one allocation each.
//!
//! Each value is cut from a buffer with room for many (`BUFFER_BYTES`), which is freed when the
//! last value cut from it is dropped. Allocating each on its own cost an allocation and a free
//! per value: three per point operation. The values live as long as the request or the
//! operation that sends them (the diagnostics keep the 16-byte [`ActivityId`], not its header
//! value, and no signature or partition key), so the buffers alive at any time are bounded by
//! the operations in flight: at most one buffer (4 KiB) per operation still running, and
//! usually a few for the whole driver. A caller that keeps a request's header map after sending
//! it keeps at most one buffer alive with it. A value longer than `MAX_SHARED` (a partition key
//! with long components) gets its own allocation, so one value never takes a buffer of its own.

use bytes::BytesMut;
use http::header::InvalidHeaderValue;
use http::HeaderValue;

use crate::auth::MasterKey;
use crate::ids::ActivityId;
use crate::models::PartitionKey;

/// Bytes per buffer: about 30 point operations' values (a 36-byte activity id, a signature of
/// about 90 bytes, a partition key of a few dozen), one allocation (and the shared counter's,
/// at the first cut) for all of them.
const BUFFER_BYTES: usize = 4096;

/// The longest value cut from a buffer; a longer one is allocated on its own.
const MAX_SHARED: usize = 256;

/// Length of an activity id's text (a UUID's canonical form).
const ID_LEN: usize = 36;

/// The buffer the next values are cut from.
#[derive(Debug, Default)]
pub(crate) struct HeaderValues {
    buf: BytesMut,
}

impl HeaderValues {
    /// Room for `len` more bytes in the current buffer, or a fresh buffer; the previous one
    /// stays alive only through the values cut from it.
    fn room(&mut self, len: usize) {
        if self.buf.capacity() - self.buf.len() < len {
            self.buf = BytesMut::with_capacity(BUFFER_BYTES);
        }
    }

    /// The bytes written since the last cut, as a header value.
    fn cut(&mut self) -> Result<HeaderValue, InvalidHeaderValue> {
        HeaderValue::from_maybe_shared(self.buf.split().freeze())
    }

    /// The `x-ms-activity-id` header value of `id`.
    pub fn activity_id(&mut self, id: &ActivityId) -> HeaderValue {
        self.room(ID_LEN);
        self.buf.extend_from_slice(&id.to_ascii());
        // Hex digits and dashes are always a valid header value.
        self.cut().unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `authorization` header value of a request signed with `key`
    /// ([`MasterKey::sign`]'s value).
    pub fn signature(
        &mut self,
        key: &MasterKey,
        verb: &str,
        resource_type: &str,
        resource_link: &str,
        x_ms_date: &str,
    ) -> Result<HeaderValue, InvalidHeaderValue> {
        self.room(crate::auth::master_key::MAX_HEADER_VALUE);
        key.sign_into(verb, resource_type, resource_link, x_ms_date, &mut self.buf);
        self.cut()
    }

    /// The `x-ms-documentdb-partitionkey` header value of `pk`
    /// ([`PartitionKey::to_header_value`]).
    pub fn partition_key(&mut self, pk: &PartitionKey) -> Result<HeaderValue, InvalidHeaderValue> {
        match pk.plain_single_string() {
            // The usual key: one string with nothing to escape, copied straight in.
            Some(s) if s.len() + 4 <= MAX_SHARED => {
                self.room(s.len() + 4);
                self.buf.extend_from_slice(b"[\"");
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.extend_from_slice(b"\"]");
                self.cut()
            }
            // `TryFrom<String>` takes the string's buffer: no second copy.
            _ => HeaderValue::try_from(pk.to_header_value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::DetRng;

    #[test]
    fn each_value_is_its_own_id_across_buffers() {
        let mut rng = DetRng::new(7);
        let mut values = HeaderValues::default();
        let ids: Vec<ActivityId> = (0..BUFFER_BYTES / ID_LEN * 3 + 5)
            .map(|_| ActivityId::generate(&mut rng))
            .collect();
        let headers: Vec<HeaderValue> = ids.iter().map(|id| values.activity_id(id)).collect();
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

    #[test]
    fn signatures_and_partition_keys_equal_their_own_values_across_buffers() {
        const KEY: &str = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";
        let key = MasterKey::parse(KEY).unwrap();
        let date = "Tue, 01 Nov 2022 12:00:00 GMT";
        let mut values = HeaderValues::default();
        let long = "k".repeat(MAX_SHARED);
        let keys = [
            PartitionKey::from("tenant-1"),
            PartitionKey::from("needs \"escaping\""),
            PartitionKey::from(long.as_str()),
            PartitionKey::from(3),
            PartitionKey::try_from(("a", true)).unwrap(),
        ];
        let mut cut = Vec::new();
        // Enough values to fill several buffers.
        for i in 0..(3 * BUFFER_BYTES / 100) {
            let link = format!("dbs/db/colls/c/docs/item-{i}");
            let signature = values.signature(&key, "GET", "docs", &link, date).unwrap();
            assert_eq!(
                signature.to_str().unwrap(),
                key.sign("GET", "docs", &link, date)
            );
            let pk = &keys[i % keys.len()];
            let value = values.partition_key(pk).unwrap();
            assert_eq!(value.to_str().unwrap(), pk.to_header_value());
            cut.push((signature, value));
        }
        // A value past the bound is not cut from the buffer.
        let before = values.buf.capacity();
        let long_value = values.partition_key(&keys[2]).unwrap();
        assert_eq!(values.buf.capacity(), before);
        assert_eq!(long_value.len(), MAX_SHARED + 4);
        // Values outlive their buffers.
        drop(values);
        let link = "dbs/db/colls/c/docs/item-0";
        assert_eq!(
            cut[0].0.to_str().unwrap(),
            key.sign("GET", "docs", link, date)
        );
        assert_eq!(cut[0].1.to_str().unwrap(), "[\"tenant-1\"]");
    }
}
