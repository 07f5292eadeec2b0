//! Master-key request signing (PROTOCOL.md §1).
//!
//! ```text
//! string_to_sign = lower(verb) \n lower(resource_type) \n resource_link \n lower(x_ms_date) \n \n
//! authorization  = encodeURIComponent("type=master&ver=1.0&sig=" + base64(HMAC-SHA256(key, string_to_sign)))
//! ```
//!
//! Lowercasing is ASCII-only: verbs, resource-type tokens and RFC 1123 dates are ASCII, and the
//! resource link is signed exactly as given (never lowercased here; see
//! [`resource_type_and_link`](super::resource_type_and_link) for the RID cases).

use base64::engine::general_purpose::STANDARD;
use base64::{DecodeError, Engine as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::AuthError;

type HmacSha256 = Hmac<Sha256>;

/// `encodeURIComponent("type=master&ver=1.0&sig=")`.
const HEADER_PREFIX: &str = "type%3Dmaster%26ver%3D1.0%26sig%3D";
/// Base64 length of a 32-byte HMAC-SHA256 tag (43 symbols and one `=`).
const SIG_B64_LEN: usize = 44;
/// The longest value: the prefix and every symbol escaped (three bytes each).
pub(crate) const MAX_HEADER_VALUE: usize = HEADER_PREFIX.len() + 3 * SIG_B64_LEN;

/// A decoded account master key, pre-keyed for HMAC-SHA256.
///
/// The HMAC key schedule is computed once in [`MasterKey::parse`]; each signature clones the
/// keyed state, so signing costs two SHA-256 passes over the string to sign and one small
/// allocation (the returned header value, none for the driver's own signatures; one more for a
/// link longer than about 210 bytes, whose string to sign does not fit on the stack). `Debug`
/// never prints the key.
#[derive(Clone)]
pub struct MasterKey {
    mac: HmacSha256,
}

impl MasterKey {
    /// Decodes a base64 master key strictly: standard alphabet (`+` `/`), `=` padding required,
    /// no whitespace inside (surrounding whitespace is trimmed), not empty.
    pub fn parse(key_base64: &str) -> Result<MasterKey, AuthError> {
        let trimmed = key_base64.trim();
        if trimmed.is_empty() {
            return Err(invalid_key("the key is empty".to_owned()));
        }
        let key = STANDARD
            .decode(trimmed)
            .map_err(|e| invalid_key(describe_decode_error(&e)))?;
        let mac = HmacSha256::new_from_slice(&key)
            .map_err(|_| invalid_key("the key length is not accepted by HMAC".to_owned()))?;
        Ok(MasterKey { mac })
    }

    /// True when both decode to the same key (compared through a signature, so the key bytes
    /// are never kept or exposed).
    pub fn same_key(&self, other: &MasterKey) -> bool {
        const PROBE: (&str, &str, &str, &str) = ("get", "", "sextant-key-probe", "probe");
        self.sign(PROBE.0, PROBE.1, PROBE.2, PROBE.3)
            == other.sign(PROBE.0, PROBE.1, PROBE.2, PROBE.3)
    }

    /// The HMAC-SHA256 tag of the string to sign.
    fn tag(
        &self,
        verb: &str,
        resource_type: &str,
        resource_link: &str,
        x_ms_date: &str,
    ) -> [u8; 32] {
        let mut mac = self.mac.clone();
        let parts = [
            (verb, true),
            (resource_type, true),
            (resource_link, false),
            (x_ms_date, true),
        ];
        // The string to sign goes to the MAC in one piece, assembled on the stack, when it fits
        // (every link with names and ids of usual length): one `update` instead of seven small
        // ones took `MasterKey::sign` from 343-348 to 322-332 ns (criterion, run alternately;
        // docs/PERFORMANCE.md). A longer one (rare) is built on the heap by `string_to_sign`.
        let mut buf = [0u8; STACK_STRING_TO_SIGN];
        match assemble(&mut buf, &parts) {
            Some(assembled) => mac.update(assembled),
            None => {
                mac.update(string_to_sign(verb, resource_type, resource_link, x_ms_date).as_bytes())
            }
        }
        let tag = mac.finalize().into_bytes();
        tag.into()
    }

    /// Signs one request and returns the finished, URL-encoded `authorization` header value
    /// (`type%3Dmaster%26ver%3D1.0%26sig%3D...`).
    ///
    /// `x_ms_date` is the `x-ms-date` header value exactly as sent (RFC 1123, proper case).
    pub fn sign(
        &self,
        verb: &str,
        resource_type: &str,
        resource_link: &str,
        x_ms_date: &str,
    ) -> String {
        let (out, n) = header_value(&self.tag(verb, resource_type, resource_link, x_ms_date));
        // ASCII by construction: the check cannot fail.
        let text = std::str::from_utf8(out.get(..n).unwrap_or_default()).unwrap_or_default();
        String::from(text)
    }

    /// [`MasterKey::sign`]'s value appended to `out` (the driver cuts header values from a
    /// shared buffer instead of allocating each: `driver/header_values.rs`).
    pub(crate) fn sign_into(
        &self,
        verb: &str,
        resource_type: &str,
        resource_link: &str,
        x_ms_date: &str,
        out: &mut bytes::BytesMut,
    ) {
        let (value, n) = header_value(&self.tag(verb, resource_type, resource_link, x_ms_date));
        out.extend_from_slice(value.get(..n).unwrap_or_default());
    }
}

/// The `authorization` header value for a 32-byte tag: [`HEADER_PREFIX`], then the tag in
/// standard base64 as `encodeURIComponent` writes it (`+` `/` `=` percent-encoded; the general
/// encoders, `base64` then `push_encode_uri_component_bytes`, give the same: see the tests).
///
/// One pass from the tag's bits to the escaped symbols through [`URI_BASE64`], on the stack: the
/// value and its length, copied once to where it goes. Encoding to base64 first and escaping that
/// byte by byte put `sign`'s own work (with the `base64` crate's) at about 1,550 instructions per
/// signature; it is about 1,120 with this (callgrind; docs/PERFORMANCE.md, the eleventh speed
/// session).
fn header_value(tag: &[u8; 32]) -> ([u8; MAX_HEADER_VALUE], usize) {
    let mut out = [0u8; MAX_HEADER_VALUE];
    let mut n = HEADER_PREFIX.len();
    if let Some(prefix) = out.get_mut(..n) {
        prefix.copy_from_slice(HEADER_PREFIX.as_bytes());
    }
    // Writes symbol `index` (a six-bit value, masked by the caller, or `PAD`): always three
    // bytes, then moves past the one or three that count.
    let mut put = |index: u8| {
        if let (Some((bytes, len)), Some(slot)) =
            (URI_BASE64.get(usize::from(index)), out.get_mut(n..n + 3))
        {
            slot.copy_from_slice(bytes);
            n += usize::from(*len);
        }
    };
    let mut groups = tag.chunks_exact(3);
    for group in &mut groups {
        if let [a, b, c] = *group {
            put(a >> 2);
            put(((a << 4) | (b >> 4)) & 63);
            put(((b << 2) | (c >> 6)) & 63);
            put(c & 63);
        }
    }
    // 32 bytes: ten groups of three, then two bytes (three symbols and one `=`).
    if let [a, b] = *groups.remainder() {
        put(a >> 2);
        put(((a << 4) | (b >> 4)) & 63);
        put((b << 2) & 63);
        put(PAD);
    }
    (out, n)
}

/// The index of the padding `=` in [`URI_BASE64`], after the 64 symbols.
const PAD: u8 = 64;

/// Each standard base64 symbol by its 6-bit value, then the padding `=`, as `encodeURIComponent`
/// writes them: the bytes (three, of which the second number says how many count).
const URI_BASE64: [([u8; 3], u8); 65] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [(*b"%3D", 3); 65];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[i] = match ALPHABET[i] {
            b'+' => (*b"%2B", 3),
            b'/' => (*b"%2F", 3),
            c => ([c, 0, 0], 1),
        };
        i += 1;
    }
    table
};

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Signs one request with a base64 master key and returns the URL-encoded `authorization`
/// header value. Decodes the key on every call; keep a [`MasterKey`] to sign many requests.
pub fn sign_master_key(
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
    master_key_base64: &str,
) -> Result<String, AuthError> {
    let key = MasterKey::parse(master_key_base64)?;
    Ok(key.sign(verb, resource_type, resource_link, x_ms_date))
}

/// The exact string that [`MasterKey::sign`] MACs, for diagnostics and tests (the service
/// echoes it in 401 responses).
pub fn string_to_sign(
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
) -> String {
    let mut s = String::with_capacity(
        verb.len() + resource_type.len() + resource_link.len() + x_ms_date.len() + 5,
    );
    for (part, lower) in [
        (verb, true),
        (resource_type, true),
        (resource_link, false),
        (x_ms_date, true),
    ] {
        if lower {
            s.extend(part.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            s.push_str(part);
        }
        s.push('\n');
    }
    s.push('\n');
    s
}

/// The longest string to sign assembled on the stack: verb, resource type and date take about
/// 40 bytes, which leaves about 210 for the link (`dbs/{db}/colls/{coll}/docs/{id}`).
const STACK_STRING_TO_SIGN: usize = 256;

/// Writes the string to sign (`part \n` for each part, lowercased where asked, then `\n`) into
/// `buf` and returns it; `None` when it does not fit.
fn assemble<'a>(buf: &'a mut [u8], parts: &[(&str, bool); 4]) -> Option<&'a [u8]> {
    let mut n = 0;
    for (part, lower) in parts {
        let end = n + part.len();
        let dst = buf.get_mut(n..end)?;
        dst.copy_from_slice(part.as_bytes());
        if *lower {
            dst.make_ascii_lowercase();
        }
        *buf.get_mut(end)? = b'\n';
        n = end + 1;
    }
    *buf.get_mut(n)? = b'\n';
    buf.get(..n + 1)
}

fn invalid_key(reason: String) -> AuthError {
    AuthError::InvalidMasterKey { reason }
}

/// Describes a decode error without echoing the offending byte (it is key material).
fn describe_decode_error(e: &DecodeError) -> String {
    match e {
        DecodeError::InvalidByte(offset, _) => format!(
            "not standard base64: invalid character at offset {offset} \
             (only A-Z a-z 0-9 + / and trailing = padding are allowed)"
        ),
        DecodeError::InvalidLength(len) => {
            format!("not standard base64: invalid length ({len} symbols)")
        }
        DecodeError::InvalidLastSymbol(offset, _) => {
            format!("not canonical base64: invalid last symbol at offset {offset}")
        }
        DecodeError::InvalidPadding => {
            "not standard base64: `=` padding is missing or malformed".to_owned()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::encode::push_encode_uri_component_bytes;
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::parse("/////////////////////w==").unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn the_signature_is_encoded_as_encode_uri_component_encodes_it() {
        let key = MasterKey::parse("/////////////////////w==").unwrap();
        let (mut plus, mut slash) = (false, false);
        for i in 0..200 {
            let link = format!("dbs/d/colls/c/docs/{i}");
            let date = "Tue, 15 Nov 1994 08:12:31 GMT";
            let mut mac = key.mac.clone();
            mac.update(string_to_sign("GET", "docs", &link, date).as_bytes());
            let b64 = STANDARD.encode(mac.finalize().into_bytes());
            plus |= b64.contains('+');
            slash |= b64.contains('/');
            let mut expected = HEADER_PREFIX.to_owned();
            push_encode_uri_component_bytes(&mut expected, b64.as_bytes());
            let signed = key.sign("GET", "docs", &link, date);
            assert_eq!(signed, expected);
            assert_eq!(signed.capacity(), signed.len(), "exactly sized");
        }
        assert!(plus && slash, "the inputs cover every encoded character");
    }

    #[test]
    fn header_value_equals_base64_then_encode_uri_component() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut seen = [false; 64];
        // Tags that give every symbol in every position (each byte runs through 0..=255),
        // and the all-zero and all-one tags.
        let tags = (0..=255u8)
            .map(|i| {
                std::array::from_fn(|j| i.wrapping_mul(31).wrapping_add((j as u8).wrapping_mul(97)))
            })
            .chain([[0u8; 32], [255u8; 32]]);
        for tag in tags {
            let b64 = STANDARD.encode(tag);
            // Coverage read from the reference encoding, not from the table under test.
            for c in b64.trim_end_matches('=').bytes() {
                if let Some(i) = ALPHABET.bytes().position(|a| a == c) {
                    seen[i] = true;
                }
            }
            let mut expected = HEADER_PREFIX.to_owned();
            push_encode_uri_component_bytes(&mut expected, b64.as_bytes());
            let (value, n) = header_value(&tag);
            assert_eq!(&value[..n], expected.as_bytes(), "{tag:?}");
        }
        assert!(seen.iter().all(|s| *s), "the tags cover every symbol");
    }

    #[test]
    fn assembled_and_streamed_macs_equal_the_mac_of_string_to_sign() {
        let key = MasterKey::parse("/////////////////////w==").unwrap();
        let date = "Tue, 15 Nov 1994 08:12:31 GMT";
        let expected = |verb: &str, link: &str| {
            let mut mac = key.mac.clone();
            mac.update(string_to_sign(verb, "Docs", link, date).as_bytes());
            let mut out = HEADER_PREFIX.to_owned();
            push_encode_uri_component_bytes(
                &mut out,
                STANDARD.encode(mac.finalize().into_bytes()).as_bytes(),
            );
            out
        };
        // Links on both sides of what fits on the stack, and a long mixed-case verb.
        let fits = STACK_STRING_TO_SIGN - ("GET\nDocs\n\n".len() + date.len() + 2);
        let mut assembled = false;
        let mut streamed = false;
        for len in fits - 3..fits + 4 {
            let link = format!("dbs/A/{}", "x".repeat(len - 6));
            let mut buf = [0u8; STACK_STRING_TO_SIGN];
            let parts = [
                ("GET", true),
                ("Docs", true),
                (link.as_str(), false),
                (date, true),
            ];
            match assemble(&mut buf, &parts) {
                Some(_) => assembled = true,
                None => streamed = true,
            }
            assert_eq!(
                key.sign("GET", "Docs", &link, date),
                expected("GET", &link),
                "{len}"
            );
        }
        assert!(assembled && streamed, "the lengths cover both paths");
        let long_verb = "GET".repeat(100);
        assert_eq!(
            key.sign(&long_verb, "Docs", "dbs/A", date),
            expected(&long_verb, "dbs/A")
        );
    }
}
