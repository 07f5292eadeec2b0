//! Derivation of the signed (resource type, resource link) pair from a request path.

use super::AuthError;

/// The resource type and resource link that a request signs (lines 2 and 3 of the string to
/// sign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAddress {
    /// The resource-type token (`dbs`, `colls`, `docs`, `pkranges`, `offers`, ...), or `""` for
    /// the database account (`GET /`).
    pub resource_type: String,
    /// The resource link: decoded, name-based (`dbs/db/colls/c`), case preserved and not
    /// percent-encoded; the offer RID lowercased for `offers`; `""` for top-level feeds.
    pub resource_link: String,
}

/// Derives the signed resource type and link from a request path as sent on the wire
/// (percent-encoded segments, optionally followed by a `?query`, which is ignored).
///
/// Rules (PROTOCOL.md §1, matching the Python and JS SDKs):
/// - `/` or `""`: type `""`, link `""` (database account).
/// - An odd number of segments (a feed): type = last segment, link = the segments before it
///   (`/dbs/db/colls/c/docs` → (`docs`, `dbs/db/colls/c`); `/dbs` → (`dbs`, `""`)).
/// - An even number (one resource): type = second-to-last segment, link = the whole path.
/// - `offers` are RID-addressed: `/offers/AbCd` → (`offers`, `abcd`): the link is the
///   lowercased RID alone, as both SDKs sign it.
/// - `…/colls/{c}/operations/{op}` (e.g. `partitionkeydelete`) signs the container:
///   (`colls`, `dbs/{db}/colls/{c}`), as the Python SDK does.
///
/// Each segment is percent-decoded strictly. Errors: an empty segment (`/dbs//colls`), an
/// invalid escape (`%ZZ`, truncated `%4`), a segment that is not UTF-8 once decoded, a segment
/// that decodes to one containing `/`, or an `offers` path deeper than two segments.
///
/// Links made of `_self` RIDs (other than offers) are not recognised: this driver addresses
/// resources by name.
pub fn resource_type_and_link(path: &str) -> Result<ResourceAddress, AuthError> {
    let without_query = path.split_once('?').map_or(path, |(p, _)| p);
    let trimmed = without_query.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(address(String::new(), String::new()));
    }
    let mut segments = Vec::new();
    for raw in trimmed.split('/') {
        if raw.is_empty() {
            return Err(invalid(path, "empty path segment".to_owned()));
        }
        let segment = decode_segment(raw).map_err(|reason| invalid(path, reason))?;
        if segment.contains('/') {
            return Err(invalid(
                path,
                format!("segment {raw:?} decodes to one containing '/'"),
            ));
        }
        segments.push(segment);
    }

    let n = segments.len();
    if n >= 4 && n % 2 == 0 && segments[n - 2] == "operations" {
        // An operation on a container signs the container itself.
        segments.truncate(n - 2);
    }

    if segments[0] == "offers" {
        return match segments.as_slice() {
            [_] => Ok(address("offers".to_owned(), String::new())),
            [_, rid] => Ok(address("offers".to_owned(), rid.to_lowercase())),
            _ => Err(invalid(
                path,
                "an offers path has at most two segments".to_owned(),
            )),
        };
    }

    if segments.len() % 2 == 1 {
        let resource_type = segments.pop().unwrap_or_default();
        Ok(address(resource_type, segments.join("/")))
    } else {
        let resource_type = segments[segments.len() - 2].clone();
        Ok(address(resource_type, segments.join("/")))
    }
}

fn address(resource_type: String, resource_link: String) -> ResourceAddress {
    ResourceAddress {
        resource_type,
        resource_link,
    }
}

fn invalid(path: &str, reason: String) -> AuthError {
    AuthError::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// Strictly percent-decodes one path segment; every `%` must start a two-hex-digit escape.
fn decode_segment(raw: &str) -> Result<String, String> {
    if !raw.contains('%') {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hi = bytes.get(i + 1).copied().and_then(hex_value);
        let lo = bytes.get(i + 2).copied().and_then(hex_value);
        match (hi, lo) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => {
                return Err(format!(
                    "invalid percent-escape at byte {i} of segment {raw:?}"
                ))
            }
        }
        i += 3;
    }
    String::from_utf8(out)
        .map_err(|_| format!("segment {raw:?} is not valid UTF-8 after percent-decoding"))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
