//! One session token value (the part after `<pkRangeId>:`): V1 `<lsn>` or V2
//! `<version>#<globalLsn>[#<regionId>=<localLsn>]*`, with the SDKs' merge and comparison.
//!
//! Numbers are signed 64-bit, as in .NET and Java (`long`): the service sends version `-1`
//! (`0:-1#12345` is the common single-region token). Region ids are `u32` (.NET `uint`).

use std::fmt;
use std::str::FromStr;

use super::error::{excerpt, SessionTokenError, SessionTokenField};

/// Most region segments one V2 token may carry.
pub const MAX_REGIONS: usize = 256;

/// A V2 ("vector") session token: the partition's topology version, its global LSN, and the
/// local LSN per region. Equality ignores the order of regions.
#[derive(Debug, Clone)]
pub struct VectorSessionToken {
    version: i64,
    global_lsn: i64,
    /// In the order parsed (so canonical input prints back unchanged); ids are unique.
    regions: Vec<(u32, i64)>,
}

impl VectorSessionToken {
    /// A token from its parts. Fails with [`SessionTokenError::DuplicateRegion`] or
    /// [`SessionTokenError::TooManyRegions`] (as entry 0).
    pub fn new(
        version: i64,
        global_lsn: i64,
        regions: Vec<(u32, i64)>,
    ) -> Result<VectorSessionToken, SessionTokenError> {
        if regions.len() > MAX_REGIONS {
            return Err(SessionTokenError::TooManyRegions {
                entry: 0,
                max: MAX_REGIONS,
            });
        }
        for (i, (id, _)) in regions.iter().enumerate() {
            if regions[..i].iter().any(|(other, _)| other == id) {
                return Err(SessionTokenError::DuplicateRegion {
                    entry: 0,
                    region: *id,
                });
            }
        }
        Ok(VectorSessionToken {
            version,
            global_lsn,
            regions,
        })
    }

    /// The topology version (incremented on failover, split, merge; `-1` on many accounts).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The global LSN.
    pub fn global_lsn(&self) -> i64 {
        self.global_lsn
    }

    /// `(region id, local LSN)` pairs, in the token's order.
    pub fn regions(&self) -> &[(u32, i64)] {
        &self.regions
    }

    /// The local LSN of `region`, if the token has it.
    pub fn local_lsn(&self, region: u32) -> Option<i64> {
        self.regions
            .iter()
            .find(|(id, _)| *id == region)
            .map(|(_, lsn)| *lsn)
    }

    fn same_regions(&self, other: &VectorSessionToken) -> bool {
        self.regions.len() == other.regions.len()
            && self
                .regions
                .iter()
                .all(|(id, _)| other.local_lsn(*id).is_some())
    }

    fn region_mismatch(&self, other: &VectorSessionToken) -> SessionTokenError {
        SessionTokenError::RegionMismatch {
            left: self.to_string(),
            right: other.to_string(),
        }
    }

    /// Merges two V2 tokens (commutative up to region order):
    /// * same version: the regions must be the same set (else
    ///   [`SessionTokenError::RegionMismatch`], as the SDKs' 500 / `InvalidRegionsInSessionToken`);
    ///   the result has the max global LSN and the max local LSN per region;
    /// * different versions: the higher version's token wins — its global LSN as-is (not the
    ///   max: false-progress protection, Java's `COSMOS.IS_SESSION_TOKEN_FALSE_PROGRESS_MERGE_ENABLED`
    ///   default `true`) and its region set, each region the max of both where both have it.
    pub fn merge(
        &self,
        other: &VectorSessionToken,
    ) -> Result<VectorSessionToken, SessionTokenError> {
        if self.version == other.version {
            if !self.same_regions(other) {
                return Err(self.region_mismatch(other));
            }
            let regions = self
                .regions
                .iter()
                .map(|&(id, lsn)| (id, other.local_lsn(id).map_or(lsn, |o| o.max(lsn))))
                .collect();
            return Ok(VectorSessionToken {
                version: self.version,
                global_lsn: self.global_lsn.max(other.global_lsn),
                regions,
            });
        }
        let (higher, lower) = if self.version > other.version {
            (self, other)
        } else {
            (other, self)
        };
        let regions = higher
            .regions
            .iter()
            .map(|&(id, lsn)| (id, lower.local_lsn(id).map_or(lsn, |l| l.max(lsn))))
            .collect();
        Ok(VectorSessionToken {
            version: higher.version,
            global_lsn: higher.global_lsn,
            regions,
        })
    }

    /// Whether this token has seen at least as much as `other` (Java/.NET `other.isValid(this)`,
    /// with false-progress semantics): a higher version is always as recent, a lower one never;
    /// with the same version the global LSN and every region's local LSN must be `>=`. Same
    /// version with different region sets is [`SessionTokenError::RegionMismatch`].
    pub fn is_as_recent_as(&self, other: &VectorSessionToken) -> Result<bool, SessionTokenError> {
        if self.version != other.version {
            return Ok(self.version > other.version);
        }
        if !self.same_regions(other) {
            return Err(self.region_mismatch(other));
        }
        Ok(self.global_lsn >= other.global_lsn
            && self
                .regions
                .iter()
                .all(|&(id, lsn)| other.local_lsn(id).is_none_or(|o| lsn >= o)))
    }

    /// Parses `<version>#<globalLsn>[#<regionId>=<localLsn>]*`, numbering errors as `entry`.
    fn parse_entry(text: &str, entry: usize) -> Result<VectorSessionToken, SessionTokenError> {
        let mut segments = text.split('#');
        let version = parse_i64(
            segments.next().unwrap_or_default(),
            entry,
            SessionTokenField::Version,
        )?;
        let global_lsn = parse_i64(
            segments.next().unwrap_or_default(),
            entry,
            SessionTokenField::GlobalLsn,
        )?;
        let mut regions: Vec<(u32, i64)> = Vec::new();
        for (segment, part) in segments.enumerate() {
            if segment == MAX_REGIONS {
                return Err(SessionTokenError::TooManyRegions {
                    entry,
                    max: MAX_REGIONS,
                });
            }
            let (id, lsn) =
                part.split_once('=')
                    .ok_or_else(|| SessionTokenError::MalformedRegion {
                        entry,
                        segment,
                        found: excerpt(part),
                    })?;
            let region = parse_u32(id, entry, SessionTokenField::RegionId { segment })?;
            let lsn = parse_i64(lsn, entry, SessionTokenField::LocalLsn { segment })?;
            if regions.iter().any(|(other, _)| *other == region) {
                return Err(SessionTokenError::DuplicateRegion { entry, region });
            }
            regions.push((region, lsn));
        }
        Ok(VectorSessionToken {
            version,
            global_lsn,
            regions,
        })
    }
}

impl PartialEq for VectorSessionToken {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.global_lsn == other.global_lsn
            && self.same_regions(other)
            && self
                .regions
                .iter()
                .all(|&(id, lsn)| other.local_lsn(id) == Some(lsn))
    }
}

impl Eq for VectorSessionToken {}

impl fmt::Display for VectorSessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.version, self.global_lsn)?;
        for (id, lsn) in &self.regions {
            write!(f, "#{id}={lsn}")?;
        }
        Ok(())
    }
}

/// A session token value: V1 (`<lsn>`, API versions before 2018-06-18) or V2 (vector).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionTokenValue {
    /// V1: a bare LSN.
    V1(i64),
    /// V2: version, global LSN and per-region progress.
    V2(VectorSessionToken),
}

impl SessionTokenValue {
    /// Parses a token value: V2 if it contains `#`, else V1.
    pub fn parse(text: &str) -> Result<SessionTokenValue, SessionTokenError> {
        SessionTokenValue::parse_entry(text, 0)
    }

    pub(crate) fn parse_entry(
        text: &str,
        entry: usize,
    ) -> Result<SessionTokenValue, SessionTokenError> {
        if text.is_empty() {
            return Err(SessionTokenError::InvalidNumber {
                entry,
                field: SessionTokenField::Lsn,
                found: String::new(),
            });
        }
        if text.contains('#') {
            VectorSessionToken::parse_entry(text, entry).map(SessionTokenValue::V2)
        } else {
            parse_i64(text, entry, SessionTokenField::Lsn).map(SessionTokenValue::V1)
        }
    }

    /// The LSN of a V1 token, the global LSN of a V2 one.
    pub fn global_lsn(&self) -> i64 {
        match self {
            SessionTokenValue::V1(lsn) => *lsn,
            SessionTokenValue::V2(v) => v.global_lsn,
        }
    }

    /// Merges two values: V1 by max LSN, V2 by [`VectorSessionToken::merge`]. Mixing formats
    /// is [`SessionTokenError::FormatMismatch`].
    pub fn merge(&self, other: &SessionTokenValue) -> Result<SessionTokenValue, SessionTokenError> {
        match (self, other) {
            (SessionTokenValue::V1(a), SessionTokenValue::V1(b)) => {
                Ok(SessionTokenValue::V1(*a.max(b)))
            }
            (SessionTokenValue::V2(a), SessionTokenValue::V2(b)) => {
                a.merge(b).map(SessionTokenValue::V2)
            }
            _ => Err(self.format_mismatch(other)),
        }
    }

    /// Whether this value has seen at least as much as `other`: V1 by LSN, V2 by
    /// [`VectorSessionToken::is_as_recent_as`]. Mixing formats is
    /// [`SessionTokenError::FormatMismatch`].
    pub fn is_as_recent_as(&self, other: &SessionTokenValue) -> Result<bool, SessionTokenError> {
        match (self, other) {
            (SessionTokenValue::V1(a), SessionTokenValue::V1(b)) => Ok(a >= b),
            (SessionTokenValue::V2(a), SessionTokenValue::V2(b)) => a.is_as_recent_as(b),
            _ => Err(self.format_mismatch(other)),
        }
    }

    fn format_mismatch(&self, other: &SessionTokenValue) -> SessionTokenError {
        SessionTokenError::FormatMismatch {
            left: self.to_string(),
            right: other.to_string(),
        }
    }
}

impl fmt::Display for SessionTokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionTokenValue::V1(lsn) => write!(f, "{lsn}"),
            SessionTokenValue::V2(v) => v.fmt(f),
        }
    }
}

impl FromStr for SessionTokenValue {
    type Err = SessionTokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionTokenValue::parse(s)
    }
}

/// A decimal `i64`: an optional `-` then ASCII digits (no `+`, no spaces), no overflow.
fn parse_i64(text: &str, entry: usize, field: SessionTokenField) -> Result<i64, SessionTokenError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| SessionTokenError::InvalidNumber {
            entry,
            field,
            found: excerpt(text),
        })
}

/// A decimal `u32`: ASCII digits only, no overflow.
fn parse_u32(text: &str, entry: usize, field: SessionTokenField) -> Result<u32, SessionTokenError> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| SessionTokenError::InvalidNumber {
            entry,
            field,
            found: excerpt(text),
        })
}
