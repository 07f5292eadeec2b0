//! Consistency levels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Read consistency. A request may only weaken the account default (PROTOCOL.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsistencyLevel {
    /// Linearizable reads.
    Strong,
    /// Reads lag writes by at most a configured bound.
    BoundedStaleness,
    /// Read-your-writes within a session token.
    Session,
    /// Reads never see out-of-order writes.
    ConsistentPrefix,
    /// No ordering guarantee.
    Eventual,
}

impl ConsistencyLevel {
    /// The `x-ms-consistency-level` header spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsistencyLevel::Strong => "Strong",
            ConsistencyLevel::BoundedStaleness => "BoundedStaleness",
            ConsistencyLevel::Session => "Session",
            ConsistencyLevel::ConsistentPrefix => "ConsistentPrefix",
            ConsistencyLevel::Eventual => "Eventual",
        }
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consistency level name that is not one of the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown consistency level {0:?}; expected Strong, BoundedStaleness, Session, ConsistentPrefix or Eventual")]
pub struct UnknownConsistencyLevel(pub String);

impl FromStr for ConsistencyLevel {
    type Err = UnknownConsistencyLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = [
            ConsistencyLevel::Strong,
            ConsistencyLevel::BoundedStaleness,
            ConsistencyLevel::Session,
            ConsistencyLevel::ConsistentPrefix,
            ConsistencyLevel::Eventual,
        ];
        all.into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownConsistencyLevel(s.to_string()))
    }
}
