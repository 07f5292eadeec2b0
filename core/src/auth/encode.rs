//! Percent-encoding helpers for the `authorization` header and for URL path segments.
//!
//! Both sets encode every byte of a non-ASCII character (as UTF-8) and use upper-case hex
//! (`%2F`), like JavaScript's `encodeURIComponent`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters that `encodeURIComponent` leaves raw: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// RFC 3986 unreserved characters, the only ones left raw in a path segment: `A-Z a-z 0-9 - . _ ~`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `s` with JavaScript `encodeURIComponent` rules (only
/// `A-Z a-z 0-9 - _ . ! ~ * ' ( )` stay raw).
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_encode_uri_component(&mut out, s);
    out
}

/// Appends `s` to `out`, percent-encoded with JavaScript `encodeURIComponent` rules.
pub fn push_encode_uri_component(out: &mut String, s: &str) {
    out.extend(utf8_percent_encode(s, URI_COMPONENT));
}

/// Appends raw bytes to `out`, percent-encoded with `encodeURIComponent` rules (the reference
/// `MasterKey::sign`'s own encoding of base64 is tested against).
#[cfg(test)]
pub(crate) fn push_encode_uri_component_bytes(out: &mut String, bytes: &[u8]) {
    out.extend(percent_encoding::percent_encode(bytes, URI_COMPONENT));
}

/// Appends one URL path segment (an id, as the user wrote it) to `out`, percent-encoded for the
/// wire: only `A-Z a-z 0-9 - . _ ~` stay raw, so `/`, `?`, `#`, `%`, `+`, `=`, space and every
/// non-ASCII character are encoded.
pub fn push_path_segment(out: &mut String, segment: &str) {
    out.extend(utf8_percent_encode(segment, PATH_SEGMENT));
}

/// True when [`push_path_segment`] would change `segment` (it has a character to encode).
pub(crate) fn needs_path_encoding(segment: &str) -> bool {
    // The encoder yields the longest run that needs no encoding first: the whole segment
    // when nothing does.
    utf8_percent_encode(segment, PATH_SEGMENT)
        .next()
        .is_some_and(|run| run.len() != segment.len())
}

/// Returns one URL path segment percent-encoded for the wire (see [`push_path_segment`]).
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    push_path_segment(&mut out, segment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_path_encoding_agrees_with_the_encoder() {
        for s in [
            "",
            "item-1",
            "a b",
            "é",
            "a/b",
            "x%y",
            "ab?",
            "Az09-_.~",
            "tenant 1 ",
            "😀",
        ] {
            assert_eq!(needs_path_encoding(s), encode_path_segment(s) != s, "{s:?}");
        }
    }

    #[test]
    fn uri_component_matches_js() {
        // Expected values from node: encodeURIComponent(...)
        assert_eq!(
            encode_uri_component("type=master&ver=1.0&sig=a+b/c="),
            "type%3Dmaster%26ver%3D1.0%26sig%3Da%2Bb%2Fc%3D"
        );
        assert_eq!(encode_uri_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_uri_component("é 😀"), "%C3%A9%20%F0%9F%98%80");
    }

    #[test]
    fn path_segment_leaves_only_unreserved_raw() {
        assert_eq!(encode_path_segment("aZ09-._~"), "aZ09-._~");
        assert_eq!(
            encode_path_segment("a b?#+=%/!*'()é"),
            "a%20b%3F%23%2B%3D%25%2F%21%2A%27%28%29%C3%A9"
        );
    }
}
