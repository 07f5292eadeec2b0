//! Backup and restore building blocks (issue 13), sans IO: a backup is NDJSON, one item per
//! line without the service's system properties; a restore upserts each line with the
//! partition key read from the item at the container's key paths, so running it again (after
//! a crash, say) gives the same container.
//!
//! The transports drive them: a full export reads the latest-version change feed from the
//! beginning (every live item once, latest version) and hands over a continuation token after
//! each page, so an export resumes where it stopped and the final token is where an
//! incremental backup starts (the changes since; deletes are not in the latest-version feed).

use serde_json::Value;

use crate::bulk::BulkOperation;
use crate::models::{PartitionKey, PartitionKeyDefinition, PartitionKeyValue};

/// The service's system properties, dropped from a backup line (the target container gives
/// the restored items their own).
pub const SYSTEM_PROPERTIES: [&str; 6] = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"];

/// Removes the system properties of an item.
pub fn strip_system_properties(item: &mut Value) {
    if let Value::Object(o) = item {
        for p in SYSTEM_PROPERTIES {
            o.remove(p);
        }
    }
}

/// The backup line of an item: its JSON without system properties, and a newline.
pub fn backup_line(mut item: Value) -> String {
    strip_system_properties(&mut item);
    let mut line = item.to_string();
    line.push('\n');
    line
}

/// The partition key of `item` at the definition's paths (a missing property is the
/// undefined component); `None` when a value there cannot be a key (an object or array).
pub fn partition_key_of(item: &Value, def: &PartitionKeyDefinition) -> Option<PartitionKey> {
    let mut parts = Vec::with_capacity(def.paths.len());
    for path in &def.paths {
        let mut v = Some(item);
        for seg in path_segments(path) {
            v = v.and_then(|x| x.get(seg));
        }
        parts.push(key_component(v)?);
    }
    PartitionKey::hierarchical(parts).ok()
}

/// The property names of a partition key path (`/a/"b c"` gives `a`, `b c`).
pub(crate) fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty()).map(|seg| {
        seg.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(seg)
    })
}

/// The key component a value at a key path gives (missing: undefined); `None` for an object or
/// array, which cannot be a key.
pub(crate) fn key_component(v: Option<&Value>) -> Option<PartitionKeyValue> {
    Some(match v {
        None => PartitionKeyValue::Undefined,
        Some(Value::String(s)) => PartitionKeyValue::String(s.clone()),
        Some(Value::Number(n)) => PartitionKeyValue::Number(n.as_f64()?),
        Some(Value::Bool(b)) => PartitionKeyValue::Bool(*b),
        Some(Value::Null) => PartitionKeyValue::Null,
        Some(_) => return None,
    })
}

/// The restore operation of one backup line (`number` counts from 1, for the error): an
/// upsert with the item's own partition key. An error names the line and what is wrong.
pub fn restore_operation(
    line: &str,
    number: u64,
    def: &PartitionKeyDefinition,
) -> Result<BulkOperation, String> {
    let mut item: Value =
        serde_json::from_str(line).map_err(|e| format!("backup line {number} is not JSON: {e}"))?;
    if !item.is_object() {
        return Err(format!("backup line {number} is not a JSON object"));
    }
    strip_system_properties(&mut item);
    let pk = partition_key_of(&item, def).ok_or_else(|| {
        format!(
            "backup line {number}: the value at the partition key paths {:?} cannot be a key",
            def.paths
        )
    })?;
    Ok(BulkOperation::upsert(pk, item.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_drop_system_properties_and_restore_with_their_own_key() {
        let line = backup_line(
            json!({"id": "a", "pk": "p", "_rid": "x", "_etag": "e", "_lsn": 3, "_ts": 1, "n": 1}),
        );
        assert_eq!(line, "{\"id\":\"a\",\"n\":1,\"pk\":\"p\"}\n");
        let def = PartitionKeyDefinition::hash("/pk");
        let op = restore_operation(line.trim_end(), 1, &def).unwrap();
        assert_eq!(op.partition_key(), &PartitionKey::from("p"));
        assert!(restore_operation("nope", 7, &def)
            .unwrap_err()
            .contains("line 7"));
        assert!(restore_operation("[1]", 8, &def)
            .unwrap_err()
            .contains("line 8"));
        assert!(restore_operation(r#"{"id":"a","pk":{"x":1}}"#, 9, &def)
            .unwrap_err()
            .contains("line 9"));
        let nested = PartitionKeyDefinition::hash("/a/b");
        assert_eq!(
            partition_key_of(&json!({"a": {"b": 5}}), &nested),
            Some(PartitionKey::number(5.0).unwrap())
        );
        assert_eq!(
            partition_key_of(&json!({}), &nested),
            Some(PartitionKey::undefined())
        );
    }
}

/// Why a backup or a restore stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// A request failed (after the driver's retries).
    #[error("backup request failed: {0}")]
    Cosmos(#[from] crate::error::CosmosError),
    /// Reading the backup or writing it failed.
    #[error("backup I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// A backup line is not a restorable item.
    #[error("{0}")]
    Line(String),
    /// An item could not be written; earlier lines are restored, and running the restore
    /// again is safe.
    #[error("restoring backup line {line} failed: {error}")]
    Restore {
        /// The line (counting from 1).
        line: u64,
        /// What the service or the driver said.
        error: String,
    },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Items written.
    pub items: u64,
    /// Change-feed pages read.
    pub pages: u64,
    /// Where the export ended: resume an interrupted export from its last checkpoint, or take
    /// an incremental backup of the changes since from this one.
    pub continuation: String,
}

/// What a restore did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestoreSummary {
    /// Backup lines read.
    pub lines: u64,
    /// Items upserted.
    pub upserted: u64,
    /// Request units of the bulk run.
    pub request_charge: f64,
}
