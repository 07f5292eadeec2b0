//! Why a session token could not be parsed, merged or compared.

use std::fmt;

/// Which number of a session token entry is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionTokenField {
    /// The LSN of a V1 token (`<lsn>`).
    Lsn,
    /// The version of a V2 token (`<version>#…`).
    Version,
    /// The global LSN of a V2 token (`…#<globalLsn>…`).
    GlobalLsn,
    /// The region id of the n-th region segment (0-based) of a V2 token.
    RegionId {
        /// Position of the region segment, 0-based.
        segment: usize,
    },
    /// The local LSN of a region of a V2 token.
    LocalLsn {
        /// Position of the region segment, 0-based.
        segment: usize,
    },
}

impl fmt::Display for SessionTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionTokenField::Lsn => f.write_str("LSN"),
            SessionTokenField::Version => f.write_str("version"),
            SessionTokenField::GlobalLsn => f.write_str("global LSN"),
            SessionTokenField::RegionId { segment } => {
                write!(f, "region id of region segment {segment}")
            }
            SessionTokenField::LocalLsn { segment } => {
                write!(f, "local LSN of region segment {segment}")
            }
        }
    }
}

/// Why a session token (entry or header) could not be parsed, merged or compared. Entries are
/// numbered from 0 in header order; a single entry or value parsed alone is entry 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionTokenError {
    /// The header or token is empty.
    #[error("the session token is empty")]
    Empty,
    /// The header is longer than the limit.
    #[error("the session token header is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header has more entries than the limit.
    #[error("the session token header has more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// An entry between commas is empty (`a:1,,b:2` or a trailing comma).
    #[error("session token entry {entry} is empty")]
    EmptyEntry {
        /// The entry's position.
        entry: usize,
    },
    /// An entry has no `:` between the partition key range id and the token.
    #[error("session token entry {entry} ({found:?}) has no ':' between the partition key range id and the token")]
    MissingColon {
        /// The entry's position.
        entry: usize,
        /// The entry (first 32 characters).
        found: String,
    },
    /// The partition key range id before the `:` is empty.
    #[error("session token entry {entry} has an empty partition key range id")]
    EmptyRangeId {
        /// The entry's position.
        entry: usize,
    },
    /// A partition key range id given to [`SessionToken::new`](super::SessionToken::new)
    /// contains `,` or `:`.
    #[error("partition key range id {found:?} contains ',' or ':'")]
    InvalidRangeId {
        /// The id (first 32 characters).
        found: String,
    },
    /// A number is missing, not decimal, or out of range.
    #[error("session token entry {entry}: the {field} {found:?} is not a valid number")]
    InvalidNumber {
        /// The entry's position.
        entry: usize,
        /// Which number.
        field: SessionTokenField,
        /// The text found (first 32 characters).
        found: String,
    },
    /// A region segment is not `<regionId>=<localLsn>`.
    #[error("session token entry {entry}: region segment {segment} ({found:?}) is not <regionId>=<localLsn>")]
    MalformedRegion {
        /// The entry's position.
        entry: usize,
        /// The region segment's position, 0-based.
        segment: usize,
        /// The segment (first 32 characters).
        found: String,
    },
    /// The same region appears twice in one token.
    #[error("session token entry {entry}: region {region} appears twice")]
    DuplicateRegion {
        /// The entry's position.
        entry: usize,
        /// The repeated region id.
        region: u32,
    },
    /// More region segments than the limit.
    #[error("session token entry {entry} has more than {max} regions")]
    TooManyRegions {
        /// The entry's position.
        entry: usize,
        /// The limit.
        max: usize,
    },
    /// Two V2 tokens of the same version disagree on their regions; the SDKs fail such a merge
    /// with 500 / `InvalidRegionsInSessionToken`.
    #[error("session tokens {left} and {right} have the same version but different regions")]
    RegionMismatch {
        /// One token.
        left: String,
        /// The other.
        right: String,
    },
    /// A V1 token met a V2 token; the SDKs never merge the two formats.
    #[error("session tokens {left} and {right} mix the V1 and V2 formats")]
    FormatMismatch {
        /// One token.
        left: String,
        /// The other.
        right: String,
    },
}

/// The first 32 characters of `s`, for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(32).collect()
}
