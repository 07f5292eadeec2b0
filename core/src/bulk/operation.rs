//! One operation of a bulk run: an item operation with its partition key.

use serde_json::Value;

use crate::batch::BatchOperation;
use crate::models::PartitionKey;
use crate::operation::PatchBuilder;

/// One item operation of a bulk run (create, upsert, read, replace, delete, patch). A problem
/// with the operation itself (an item that is not JSON, a bad id) becomes that operation's
/// result; it never stops the run.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub(crate) partition_key: PartitionKey,
    pub(crate) op: BatchOperation,
    pub(crate) problem: Option<String>,
}

impl BulkOperation {
    fn new(partition_key: impl Into<PartitionKey>, op: BatchOperation) -> BulkOperation {
        let problem = op.check().err();
        BulkOperation {
            partition_key: partition_key.into(),
            op,
            problem,
        }
    }

    fn json(item: &[u8]) -> Result<Value, String> {
        serde_json::from_slice(item).map_err(|e| format!("the item is not JSON: {e}"))
    }

    fn with_body(
        partition_key: impl Into<PartitionKey>,
        item: &[u8],
        make: impl FnOnce(Value) -> BatchOperation,
    ) -> BulkOperation {
        match Self::json(item) {
            Ok(body) => Self::new(partition_key, make(body)),
            Err(e) => BulkOperation {
                partition_key: partition_key.into(),
                op: make(Value::Null),
                problem: Some(e),
            },
        }
    }

    /// Creates an item (raw JSON) with this partition key.
    pub fn create(partition_key: impl Into<PartitionKey>, item: impl AsRef<[u8]>) -> Self {
        Self::with_body(partition_key, item.as_ref(), |body| {
            BatchOperation::Create { body }
        })
    }

    /// Creates or replaces an item (raw JSON).
    pub fn upsert(partition_key: impl Into<PartitionKey>, item: impl AsRef<[u8]>) -> Self {
        Self::with_body(partition_key, item.as_ref(), |body| {
            BatchOperation::Upsert {
                body,
                if_match: None,
            }
        })
    }

    /// Replaces item `id` (raw JSON).
    pub fn replace(
        partition_key: impl Into<PartitionKey>,
        id: impl Into<String>,
        item: impl AsRef<[u8]>,
    ) -> Self {
        let id = id.into();
        Self::with_body(partition_key, item.as_ref(), |body| {
            BatchOperation::Replace {
                id,
                body,
                if_match: None,
            }
        })
    }

    /// Reads item `id`.
    pub fn read(partition_key: impl Into<PartitionKey>, id: impl Into<String>) -> Self {
        Self::new(partition_key, BatchOperation::Read { id: id.into() })
    }

    /// Deletes item `id`.
    pub fn delete(partition_key: impl Into<PartitionKey>, id: impl Into<String>) -> Self {
        Self::new(
            partition_key,
            BatchOperation::Delete {
                id: id.into(),
                if_match: None,
            },
        )
    }

    /// Patches item `id`.
    pub fn patch(
        partition_key: impl Into<PartitionKey>,
        id: impl Into<String>,
        patch: PatchBuilder,
    ) -> Self {
        Self::new(
            partition_key,
            BatchOperation::Patch {
                id: id.into(),
                patch,
                if_match: None,
            },
        )
    }

    /// An operation already known to be unusable (a typed item that could not be serialized,
    /// or whose id or partition key could not be read): nothing is sent, and its result is an
    /// error naming `problem`. It still counts in the run's progress, as done and failed.
    pub fn rejected(problem: impl Into<String>) -> Self {
        BulkOperation {
            partition_key: PartitionKey::from(""),
            op: BatchOperation::Read { id: String::new() },
            problem: Some(problem.into()),
        }
    }

    /// Only if the item's current etag is `etag` (upsert, replace, delete, patch); its result
    /// is 412 otherwise.
    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        let name = self.op.name();
        match self.op.if_match_mut() {
            Some(slot) => *slot = Some(etag.into()),
            None => {
                self.problem
                    .get_or_insert_with(|| format!("a {name} cannot carry if-match"));
            }
        }
        self
    }

    /// The operation's partition key.
    pub fn partition_key(&self) -> &PartitionKey {
        &self.partition_key
    }

    /// The operation.
    pub fn operation(&self) -> &BatchOperation {
        &self.op
    }

    /// The wire form of a bulk operation: the batch operation with its own `partitionKey`, a
    /// JSON-encoded string (PROTOCOL.md §8.3).
    pub(crate) fn to_json(&self) -> Value {
        let mut v = self.op.to_json();
        if let Value::Object(o) = &mut v {
            o.insert(
                "partitionKey".into(),
                Value::String(self.partition_key.to_header_value()),
            );
        }
        v
    }
}
