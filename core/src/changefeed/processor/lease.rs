//! A lease document (PROTOCOL.md §9.4): one per feed range, in the lease container.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// A lease as the processor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Document id: `<prefix>..<min>-<max>`.
    pub id: String,
    /// The document's etag when it was read or written (`None` before it exists).
    pub etag: Option<String>,
    /// Lower EPK bound of the lease's feed range.
    pub min: String,
    /// Upper EPK bound.
    pub max: String,
    /// Where the lease's feed was last checkpointed (a change-feed token).
    pub continuation: Option<String>,
    /// The host that holds the lease, if any.
    pub owner: Option<String>,
    /// When the owner last wrote the lease (milliseconds since the Unix epoch).
    pub timestamp_ms: u64,
}

/// The lease token (`<min>-<max>`) of a feed range.
pub fn lease_token(min: &str, max: &str) -> String {
    format!("{min}-{max}")
}

/// Milliseconds since the Unix epoch.
pub(crate) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Lease {
    /// A new, unowned lease of `[min, max)`.
    pub fn new(prefix: &str, min: &str, max: &str) -> Lease {
        Lease {
            id: format!("{prefix}..{}", lease_token(min, max)),
            etag: None,
            min: min.to_string(),
            max: max.to_string(),
            continuation: None,
            owner: None,
            timestamp_ms: 0,
        }
    }

    /// True when no live host holds it: unowned, or not written for longer than `expiry`.
    pub fn is_expired(&self, now_ms: u64, expiry: Duration) -> bool {
        let expiry_ms = u64::try_from(expiry.as_millis()).unwrap_or(u64::MAX);
        self.owner.is_none() || now_ms.saturating_sub(self.timestamp_ms) >= expiry_ms
    }

    /// The document (Java's EPK-version lease shape; the partition key is the id).
    pub fn to_json(&self) -> Value {
        let ts = UNIX_EPOCH + Duration::from_millis(self.timestamp_ms);
        json!({
            "id": self.id,
            "LeaseToken": lease_token(&self.min, &self.max),
            "ContinuationToken": self.continuation,
            "timestamp": crate::driver::http_date(ts),
            "timestampMs": self.timestamp_ms,
            "Owner": self.owner,
            "version": 1,
            "feedRange": {"Range": {"min": self.min, "max": self.max}},
        })
    }

    /// Reads a lease document (with its `_etag`); `None` for other documents.
    pub fn from_json(v: &Value) -> Option<Lease> {
        let range = v.get("feedRange")?.get("Range")?;
        Some(Lease {
            id: v.get("id")?.as_str()?.to_string(),
            etag: v.get("_etag").and_then(Value::as_str).map(str::to_owned),
            min: range.get("min")?.as_str()?.to_string(),
            max: range.get("max")?.as_str()?.to_string(),
            continuation: v
                .get("ContinuationToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
            owner: v.get("Owner").and_then(Value::as_str).map(str::to_owned),
            timestamp_ms: v.get("timestampMs").and_then(Value::as_u64).unwrap_or(0),
        })
    }
}
