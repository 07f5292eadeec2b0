//! Identifiers: attempts within a driver and activity ids sent to the service.

use std::fmt;

use crate::rng::DetRng;

/// Identifies one HTTP attempt (a retry, a hedge, a metadata read) within a [`crate::Driver`].
///
/// Ids are allocated from a per-driver counter and never reused, so a late answer for an attempt
/// that was aborted can always be recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptId(pub u64);

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A version-4 style UUID drawn from the driver's seeded generator; sent as `x-ms-activity-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivityId([u8; 16]);

impl ActivityId {
    /// Draws a new id from `rng` (deterministic for a given seed).
    pub fn generate(rng: &mut DetRng) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        ActivityId(bytes)
    }

    /// The all-zero id (for diagnostics of things that sent nothing).
    pub fn nil() -> Self {
        ActivityId([0; 16])
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl ActivityId {
    /// The canonical 36-character lowercase form, without allocating.
    pub fn to_ascii(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Where each byte's two digits go in `8-4-4-4-12`: a fixed table, so the loop has no
        // position arithmetic and (unrolled) no bounds checks left.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = [b'-'; 36];
        for (&b, &at) in self.0.iter().zip(&AT) {
            if let Some([hi, lo]) = out.get_mut(at..at + 2) {
                *hi = HEX[usize::from(b >> 4)];
                *lo = HEX[usize::from(b & 0x0f)];
            }
        }
        out
    }

    /// As an `x-ms-activity-id` header value.
    pub fn header_value(&self) -> http::HeaderValue {
        // Hex digits and dashes are always a valid header value. Shared from the start (one
        // allocation): the value is cloned into every request of the operation, and a copied
        // buffer would be promoted to a shared one (a second allocation) at the first clone.
        http::HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(self.to_ascii()))
            .unwrap_or_else(|_| http::HeaderValue::from_static(""))
    }
}

impl fmt::Display for ActivityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.to_ascii();
        f.write_str(std::str::from_utf8(&ascii).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_id_is_a_v4_uuid_string() {
        let id = ActivityId::generate(&mut DetRng::new(1)).to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn ascii_form_is_canonical_8_4_4_4_12() {
        let id = ActivityId(std::array::from_fn(|i| (i as u8) * 0x11));
        assert_eq!(&id.to_ascii()[..], b"00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(
            ActivityId::nil().to_string(),
            "00000000-0000-0000-0000-000000000000"
        );
    }
}
