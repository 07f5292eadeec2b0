//! The continuation token of a query (or any feed Sextant pages): opaque to callers, versioned,
//! bounded, and enough for a fresh driver in another process to resume (ADR 0005).
//!
//! Wire form: `sx1.` followed by base64url (no padding) of a JSON document
//! `{"q": "<query fingerprint>", "p": [{"min", "max", "c", "s"}], "m": <merge state>}`:
//! per producer (partition key range, in EPK order) the server continuation of the page being
//! consumed (`null`: from the start), how many rows of that page were already returned, and for
//! ORDER BY which ones by value (`k`, used when the range split since);
//! `m` is the merge pipeline's resumption state, when it has one. Rows buffered in memory are
//! never in the token: a resumed query fetches their page again and skips what was returned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ConfigError;

/// Prefix of every token this version writes; a token without it is refused by name.
pub const TOKEN_PREFIX: &str = "sx1.";

/// Largest token accepted or produced, in bytes. Tokens travel in HTTP headers and URLs of the
/// caller's own APIs: 16 KiB stays under the 16 KiB header-line limits common to HTTP servers
/// (nginx `large_client_header_buffers`, 8–16 KiB) while holding a few hundred ranges. The
/// service's own tokens are bounded the same way (`x-ms-documentdb-responsecontinuationtokenlimitinkb`).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Where one producer (a partition key range) stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerPosition {
    /// Inclusive lower EPK bound of the range (`""` is the start of the key space).
    pub min: String,
    /// Exclusive upper EPK bound (`"FF"` is the end).
    pub max: String,
    /// The server continuation that fetches the page being consumed; `None` means from the
    /// start of the range.
    #[serde(rename = "c")]
    pub server: Option<String>,
    /// Rows of that page already returned to the caller.
    #[serde(rename = "s", default)]
    pub skip: u32,
    /// The range has no more pages.
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
    /// ORDER BY: where the producer stands in that page by value (sort keys and `_rid`s
    /// returned), so a range that split since resumes on each child without loss or repeats.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<serde_json::Value>,
}

/// A decoded continuation token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedToken {
    /// Fingerprint of the query and its scope; a token is only valid for the same query.
    #[serde(rename = "q")]
    pub fingerprint: String,
    /// Producers in EPK order.
    #[serde(rename = "p")]
    pub producers: Vec<ProducerPosition>,
    /// The merge pipeline's resumption state (ORDER BY position, DISTINCT, OFFSET/LIMIT counts).
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<serde_json::Value>,
}

fn invalid(why: impl Into<String>) -> ConfigError {
    ConfigError::InvalidSetting {
        name: "continuation".into(),
        value: why.into(),
        expected: "a continuation token returned by a page of this same query".into(),
    }
}

impl FeedToken {
    /// Encodes the token; an error when it would exceed [`MAX_TOKEN_BYTES`].
    pub fn encode(&self) -> Result<String, ConfigError> {
        let json = serde_json::to_vec(self).map_err(|e| invalid(e.to_string()))?;
        let mut out = String::with_capacity(TOKEN_PREFIX.len() + json.len() * 4 / 3 + 4);
        out.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        if out.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!(
                "the query's state needs a {}-byte token; the limit is {MAX_TOKEN_BYTES}",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Decodes a token for the query with `fingerprint`; the error names what is wrong
    /// (never echoing more than a prefix of the token).
    pub fn decode(token: &str, fingerprint: &str) -> Result<FeedToken, ConfigError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!(
                "token of {} bytes exceeds the {MAX_TOKEN_BYTES}-byte limit",
                token.len()
            )));
        }
        let Some(b64) = token.strip_prefix(TOKEN_PREFIX) else {
            return Err(invalid(format!(
                "token does not start with {TOKEN_PREFIX:?} (it was not made by this version of Sextant)"
            )));
        };
        let json = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|e| invalid(format!("token is not base64url: {e}")))?;
        let t: FeedToken =
            serde_json::from_slice(&json).map_err(|e| invalid(format!("token body: {e}")))?;
        if t.fingerprint != fingerprint {
            return Err(invalid(
                "token belongs to another query (text, parameters or scope differ)",
            ));
        }
        if t.producers.is_empty() {
            return Err(invalid("token names no partition key range"));
        }
        for w in t.producers.windows(2) {
            if w[0].max != w[1].min {
                return Err(invalid(format!(
                    "token ranges do not tile the key space: {:?} then {:?}",
                    w[0].max, w[1].min
                )));
            }
        }
        Ok(t)
    }
}

/// The fingerprint of a query and its scope: SHA-256 over the request body and the partition
/// key header, first 16 bytes in hex.
pub fn fingerprint(body: &[u8], scope: &str) -> String {
    let mut h = Sha256::new();
    h.update((body.len() as u64).to_le_bytes());
    h.update(body);
    h.update(scope.as_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> FeedToken {
        FeedToken {
            fingerprint: fingerprint(b"{\"query\":\"SELECT * FROM c\"}", ""),
            producers: vec![
                ProducerPosition {
                    min: String::new(),
                    max: "7F".into(),
                    server: Some("{\"token\":\"+RID:x#RT:1\"}".into()),
                    skip: 3,
                    done: false,
                    mark: None,
                },
                ProducerPosition {
                    min: "7F".into(),
                    max: "FF".into(),
                    server: None,
                    skip: 0,
                    done: true,
                    mark: None,
                },
            ],
            merge: None,
        }
    }

    #[test]
    fn round_trips_and_is_opaque() {
        let t = token();
        let s = t.encode().unwrap();
        assert!(s.starts_with(TOKEN_PREFIX));
        assert!(!s.contains("RID"), "opaque: {s}");
        assert_eq!(FeedToken::decode(&s, &t.fingerprint).unwrap(), t);
    }

    #[test]
    fn a_token_of_another_query_is_refused() {
        let s = token().encode().unwrap();
        let other = fingerprint(b"{\"query\":\"SELECT 1\"}", "");
        let e = FeedToken::decode(&s, &other).unwrap_err().to_string();
        assert!(e.contains("another query"), "{e}");
    }

    #[test]
    fn garbage_is_refused_by_name_without_echoing_it() {
        let fp = token().fingerprint;
        for (bad, needle) in [
            ("abc", "does not start"),
            ("sx1.!!!", "base64url"),
            ("sx1.e30", "token body"),
        ] {
            let e = FeedToken::decode(bad, &fp).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let huge = format!("sx1.{}", "A".repeat(MAX_TOKEN_BYTES));
        let e = FeedToken::decode(&huge, &fp).unwrap_err().to_string();
        assert!(e.contains("limit") && !e.contains("AAAA"), "{e}");
    }

    #[test]
    fn gaps_between_ranges_are_refused() {
        let mut t = token();
        t.producers[1].min = "80".into();
        let s = t.encode().unwrap();
        let e = FeedToken::decode(&s, &t.fingerprint)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tile"), "{e}");
    }

    #[test]
    fn an_oversized_state_is_an_error_not_a_truncated_token() {
        let mut t = token();
        t.merge = Some(serde_json::Value::String("x".repeat(MAX_TOKEN_BYTES)));
        assert!(t.encode().is_err());
    }
}
