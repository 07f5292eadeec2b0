//! The `x-ms-session-token` header: comma-separated `<pkRangeId>:<token>` entries.

use std::fmt;
use std::str::FromStr;

use super::error::{excerpt, SessionTokenError};
use super::token::SessionTokenValue;

/// Longest header accepted (64 KiB).
pub const MAX_HEADER_LEN: usize = 64 * 1024;
/// Most entries accepted in one header.
pub const MAX_ENTRIES: usize = 1024;

/// One `<pkRangeId>:<token>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken {
    range_id: String,
    value: SessionTokenValue,
}

impl SessionToken {
    /// An entry from its parts. The range id must be non-empty and free of `,` and `:`.
    pub fn new(
        range_id: impl Into<String>,
        value: SessionTokenValue,
    ) -> Result<SessionToken, SessionTokenError> {
        let range_id = range_id.into();
        if range_id.is_empty() {
            return Err(SessionTokenError::EmptyRangeId { entry: 0 });
        }
        if range_id.contains([',', ':']) {
            return Err(SessionTokenError::InvalidRangeId {
                found: excerpt(&range_id),
            });
        }
        Ok(SessionToken { range_id, value })
    }

    /// Parses one `<pkRangeId>:<token>` entry.
    pub fn parse(entry: &str) -> Result<SessionToken, SessionTokenError> {
        if entry.len() > MAX_HEADER_LEN {
            return Err(SessionTokenError::TooLong {
                len: entry.len(),
                max: MAX_HEADER_LEN,
            });
        }
        if entry.is_empty() {
            return Err(SessionTokenError::Empty);
        }
        SessionToken::parse_entry(entry, 0)
    }

    fn parse_entry(text: &str, entry: usize) -> Result<SessionToken, SessionTokenError> {
        if text.is_empty() {
            return Err(SessionTokenError::EmptyEntry { entry });
        }
        let (range_id, token) =
            text.split_once(':')
                .ok_or_else(|| SessionTokenError::MissingColon {
                    entry,
                    found: excerpt(text),
                })?;
        if range_id.is_empty() {
            return Err(SessionTokenError::EmptyRangeId { entry });
        }
        Ok(SessionToken {
            range_id: range_id.to_owned(),
            value: SessionTokenValue::parse_entry(token, entry)?,
        })
    }

    /// The partition key range id.
    pub fn range_id(&self) -> &str {
        &self.range_id
    }

    /// The token value.
    pub fn value(&self) -> &SessionTokenValue {
        &self.value
    }

    /// The parts, by value.
    pub fn into_parts(self) -> (String, SessionTokenValue) {
        (self.range_id, self.value)
    }
}

impl fmt::Display for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.range_id, self.value)
    }
}

impl FromStr for SessionToken {
    type Err = SessionTokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionToken::parse(s)
    }
}

/// A parsed `x-ms-session-token` header value. Entries keep their order (and duplicates), so
/// canonical input formats back byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokenHeader {
    entries: Vec<SessionToken>,
}

impl SessionTokenHeader {
    /// Parses a header: at most [`MAX_HEADER_LEN`] bytes and [`MAX_ENTRIES`] entries, none empty.
    /// No whitespace is trimmed (the SDKs send none).
    pub fn parse(header: &str) -> Result<SessionTokenHeader, SessionTokenError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SessionTokenError::TooLong {
                len: header.len(),
                max: MAX_HEADER_LEN,
            });
        }
        if header.is_empty() {
            return Err(SessionTokenError::Empty);
        }
        let mut entries = Vec::new();
        for (entry, text) in header.split(',').enumerate() {
            if entry == MAX_ENTRIES {
                return Err(SessionTokenError::TooManyEntries { max: MAX_ENTRIES });
            }
            entries.push(SessionToken::parse_entry(text, entry)?);
        }
        Ok(SessionTokenHeader { entries })
    }

    /// A header from entries (at least one).
    pub fn from_entries(
        entries: Vec<SessionToken>,
    ) -> Result<SessionTokenHeader, SessionTokenError> {
        if entries.is_empty() {
            return Err(SessionTokenError::Empty);
        }
        if entries.len() > MAX_ENTRIES {
            return Err(SessionTokenError::TooManyEntries { max: MAX_ENTRIES });
        }
        Ok(SessionTokenHeader { entries })
    }

    /// The entries, in header order.
    pub fn entries(&self) -> &[SessionToken] {
        &self.entries
    }

    /// The entries, by value.
    pub fn into_entries(self) -> Vec<SessionToken> {
        self.entries
    }

    /// The token to send to range `range_id` from a header that covers several ranges (e.g. one
    /// a caller passed in): the merge of the entries for `range_id` and for its `parents`, as
    /// Java's `SessionTokenHelper.getLocalSessionToken` does. `None` if no entry applies.
    pub fn local_token(
        &self,
        range_id: &str,
        parents: &[&str],
    ) -> Result<Option<SessionTokenValue>, SessionTokenError> {
        let mut merged: Option<SessionTokenValue> = None;
        for entry in &self.entries {
            if entry.range_id == range_id || parents.contains(&entry.range_id.as_str()) {
                merged = Some(match merged {
                    None => entry.value.clone(),
                    Some(so_far) => so_far.merge(&entry.value)?,
                });
            }
        }
        Ok(merged)
    }
}

impl fmt::Display for SessionTokenHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            entry.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for SessionTokenHeader {
    type Err = SessionTokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionTokenHeader::parse(s)
    }
}
