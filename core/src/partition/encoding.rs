//! Byte encodings of partition key components, as .NET's `*PartitionKeyComponent` classes
//! write them (`WriteForHashingV2`, `WriteForHashing`, `WriteForBinaryEncoding`, `Truncate`).
//!
//! Type markers: undefined `0x00`, null `0x01`, false `0x02`, true `0x03`, number `0x05`,
//! string `0x08`.

use crate::models::partition_key::PartitionKeyValue;

const UNDEFINED: u8 = 0x00;
const NULL: u8 = 0x01;
const FALSE: u8 = 0x02;
const TRUE: u8 = 0x03;
const NUMBER: u8 = 0x05;
const STRING: u8 = 0x08;

/// V1 hashing keeps at most this many UTF-16 code units of a string (`MaxStringChars`).
const V1_MAX_STRING_CHARS: usize = 100;
/// The V1 binary encoding appends at most this many UTF-8 bytes plus one
/// (`MaxStringBytesToAppend`).
const V1_MAX_STRING_BYTES: usize = 100;

/// The bytes V2 and MultiHash hash for one component: strings end in `0xFF`, numbers are the
/// raw IEEE-754 bits little-endian (so `-0.0` and `0.0` differ, as in .NET and both vector SDKs).
pub(crate) fn write_for_hashing_v2(value: &PartitionKeyValue, out: &mut Vec<u8>) {
    match value {
        PartitionKeyValue::String(s) => {
            out.push(STRING);
            out.extend_from_slice(s.as_bytes());
            out.push(0xFF);
        }
        other => write_scalar_for_hashing(other, out),
    }
}

/// The bytes V1 hashes for one component (already [`truncate_v1`]-ed): strings end in `0x00`.
pub(crate) fn write_for_hashing_v1(value: &V1Component, out: &mut Vec<u8>) {
    match value {
        V1Component::String(bytes) => {
            out.push(STRING);
            out.extend_from_slice(bytes);
            out.push(0x00);
        }
        V1Component::Other(other) => write_scalar_for_hashing(other, out),
    }
}

fn write_scalar_for_hashing(value: &PartitionKeyValue, out: &mut Vec<u8>) {
    match value {
        PartitionKeyValue::String(s) => {
            // Unreachable from the two callers; kept total rather than panicking.
            out.push(STRING);
            out.extend_from_slice(s.as_bytes());
        }
        PartitionKeyValue::Number(n) => {
            out.push(NUMBER);
            out.extend_from_slice(&n.to_le_bytes());
        }
        PartitionKeyValue::Bool(true) => out.push(TRUE),
        PartitionKeyValue::Bool(false) => out.push(FALSE),
        PartitionKeyValue::Null => out.push(NULL),
        PartitionKeyValue::Undefined => out.push(UNDEFINED),
    }
}

/// A component as V1 sees it after `Truncate()`: strings are cut to 100 UTF-16 code units and
/// held as the UTF-8 bytes .NET's `Encoding.UTF8` would produce.
pub(crate) enum V1Component<'a> {
    /// UTF-8 bytes of the (possibly truncated) string.
    String(Vec<u8>),
    /// Any non-string component (truncation leaves it alone).
    Other(&'a PartitionKeyValue),
}

/// .NET `StringPartitionKeyComponent.Truncate`: `value.Substring(0, 100)` when the string is
/// longer than 100 UTF-16 code units. A cut through a surrogate pair leaves a lone high
/// surrogate, which `Encoding.UTF8.GetBytes` replaces with U+FFFD; we do the same.
pub(crate) fn truncate_v1(value: &PartitionKeyValue) -> V1Component<'_> {
    let PartitionKeyValue::String(s) = value else {
        return V1Component::Other(value);
    };
    let mut units = 0usize;
    let mut end = s.len();
    let mut split_pair = false;
    for (at, c) in s.char_indices() {
        let width = c.len_utf16();
        if units + width > V1_MAX_STRING_CHARS {
            end = at;
            split_pair = units < V1_MAX_STRING_CHARS;
            break;
        }
        units += width;
    }
    let mut bytes = s.as_bytes().get(..end).unwrap_or_default().to_vec();
    if split_pair {
        bytes.extend_from_slice("\u{FFFD}".as_bytes());
    }
    V1Component::String(bytes)
}

/// .NET `WriteForBinaryEncoding` of a (V1-truncated) component: the order-preserving encoding
/// that V1 EPKs (after the hash) and Range-partitioned EPKs are made of.
pub(crate) fn write_for_binary_encoding(value: &V1Component, out: &mut Vec<u8>) {
    match value {
        V1Component::String(bytes) => {
            out.push(STRING);
            // Short strings: every byte + 1, then 0x00. Long ones (over 100 UTF-8 bytes): the
            // first 101 bytes + 1 and no terminator, so they sort after every short prefix.
            let short = bytes.len() <= V1_MAX_STRING_BYTES;
            let take = if short {
                bytes.len()
            } else {
                V1_MAX_STRING_BYTES + 1
            };
            out.extend(bytes.iter().take(take).map(|&b| b.saturating_add(1)));
            if short {
                out.push(0x00);
            }
        }
        V1Component::Other(PartitionKeyValue::Number(n)) => {
            write_number_for_binary_encoding(*n, out)
        }
        V1Component::Other(PartitionKeyValue::String(s)) => {
            // Unreachable: `truncate_v1` turns every string into `V1Component::String`.
            write_for_binary_encoding(&V1Component::String(s.as_bytes().to_vec()), out);
        }
        V1Component::Other(other) => write_scalar_for_hashing(other, out),
    }
}

/// .NET `NumberPartitionKeyComponent.WriteForBinaryEncoding`: marker `0x05`, the first 8 bits of
/// the order-preserving 64-bit payload, then 7-bit chunks each followed by a `1` bit, except the
/// last chunk, which ends in `0` (`byteToWrite & 0xFE`, always written, even when it is 0x00 —
/// JS drops that chunk, Python and .NET keep it).
pub(crate) fn write_number_for_binary_encoding(value: f64, out: &mut Vec<u8>) {
    out.push(NUMBER);
    let mut payload = encode_double_as_u64(value);
    out.push((payload >> 56) as u8);
    payload <<= 8;
    let mut pending: Option<u8> = None;
    loop {
        if let Some(byte) = pending {
            out.push(byte);
        }
        let byte = ((payload >> 56) as u8) | 0x01;
        pending = Some(byte);
        payload <<= 7;
        if payload == 0 {
            break;
        }
    }
    if let Some(byte) = pending {
        out.push(byte & 0xFE);
    }
}

/// Maps a double to a `u64` whose unsigned order is the numeric order (`-0.0` and `0.0` both
/// map to `0x8000_0000_0000_0000`).
fn encode_double_as_u64(value: f64) -> u64 {
    let bits = value.to_bits();
    const MASK: u64 = 0x8000_0000_0000_0000;
    if bits < MASK {
        bits ^ MASK
    } else {
        (!bits).wrapping_add(1)
    }
}

/// Appends `bytes` as upper-case hex.
pub(crate) fn push_upper_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        let mut s = String::new();
        push_upper_hex(bytes, &mut s);
        s
    }

    #[test]
    fn number_binary_encoding_matches_dotnet() {
        let mut out = Vec::new();
        write_number_for_binary_encoding(0.0, &mut out);
        assert_eq!(hex(&out), "058000");
        out.clear();
        write_number_for_binary_encoding(-0.0, &mut out);
        assert_eq!(hex(&out), "058000");
        out.clear();
        write_number_for_binary_encoding(42.0, &mut out);
        assert_eq!(hex(&out), "05C04580");
    }

    #[test]
    fn truncation_counts_utf16_units_and_replaces_a_split_pair() {
        let long = "a".repeat(150);
        let V1Component::String(bytes) = truncate_v1(&PartitionKeyValue::String(long)) else {
            panic!("string expected");
        };
        assert_eq!(bytes.len(), 100);
        // 99 ASCII units then an astral char (2 units): the pair is cut after its high half.
        let split = format!("{}\u{1F600}tail", "a".repeat(99));
        let V1Component::String(bytes) = truncate_v1(&PartitionKeyValue::String(split)) else {
            panic!("string expected");
        };
        assert_eq!(bytes.len(), 102);
        assert_eq!(&bytes[99..], "\u{FFFD}".as_bytes());
    }
}
