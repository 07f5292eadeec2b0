//! Building and checking a transactional batch request.

use serde_json::{json, Map, Value};

use crate::error::ConfigError;
use crate::models::{validate_resource_id, PartitionKey, ResourceIdKind};
use crate::operation::PatchBuilder;

/// Most operations in one transactional batch. Precedent: the service's limit (learn.microsoft.com
/// transactional batch page, PROTOCOL.md §8.2); JS checks the same number.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// Largest batch request body. Precedent: the service's 2 MB payload limit (PROTOCOL.md §8.2).
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOperation {
    /// Create an item (`resourceBody`).
    Create {
        /// The item.
        body: Value,
    },
    /// Create or replace an item.
    Upsert {
        /// The item.
        body: Value,
        /// Only if the current item has this etag.
        if_match: Option<String>,
    },
    /// Read an item.
    Read {
        /// The item id.
        id: String,
    },
    /// Replace an item.
    Replace {
        /// The item id.
        id: String,
        /// The new item.
        body: Value,
        /// Only if the current item has this etag.
        if_match: Option<String>,
    },
    /// Delete an item.
    Delete {
        /// The item id.
        id: String,
        /// Only if the current item has this etag.
        if_match: Option<String>,
    },
    /// Patch an item.
    Patch {
        /// The item id.
        id: String,
        /// The patch.
        patch: PatchBuilder,
        /// Only if the current item has this etag.
        if_match: Option<String>,
    },
}

impl BatchOperation {
    pub(crate) fn to_json(&self) -> Value {
        let mut o = Map::new();
        let mut put = |k: &str, v: Value| {
            o.insert(k.into(), v);
        };
        let if_match = match self {
            BatchOperation::Create { body } => {
                put("operationType", json!("Create"));
                put("resourceBody", body.clone());
                None
            }
            BatchOperation::Upsert { body, if_match } => {
                put("operationType", json!("Upsert"));
                put("resourceBody", body.clone());
                if_match.as_ref()
            }
            BatchOperation::Read { id } => {
                put("operationType", json!("Read"));
                put("id", json!(id));
                None
            }
            BatchOperation::Replace { id, body, if_match } => {
                put("operationType", json!("Replace"));
                put("id", json!(id));
                put("resourceBody", body.clone());
                if_match.as_ref()
            }
            BatchOperation::Delete { id, if_match } => {
                put("operationType", json!("Delete"));
                put("id", json!(id));
                if_match.as_ref()
            }
            BatchOperation::Patch {
                id,
                patch,
                if_match,
            } => {
                put("operationType", json!("Patch"));
                put("id", json!(id));
                let body: Value = serde_json::from_slice(&patch.to_body()).unwrap_or(Value::Null);
                put("resourceBody", body);
                if_match.as_ref()
            }
        };
        if let Some(e) = if_match {
            o.insert("ifMatch".into(), json!(e));
        }
        Value::Object(o)
    }

    /// Checks the operation alone: item bodies are JSON objects with a valid string `id`
    /// (equal to the addressed id for a replace), ids are valid, patches are valid.
    pub(crate) fn check(&self) -> Result<(), String> {
        let body_id = |body: &Value| -> Result<String, String> {
            let id = body
                .as_object()
                .and_then(|o| o.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| "the item must be a JSON object with a string \"id\"".to_string())?;
            validate_resource_id(ResourceIdKind::Item, id).map_err(|e| e.to_string())?;
            Ok(id.to_owned())
        };
        let valid =
            |id: &str| validate_resource_id(ResourceIdKind::Item, id).map_err(|e| e.to_string());
        match self {
            BatchOperation::Create { body } | BatchOperation::Upsert { body, .. } => {
                body_id(body).map(|_| ())
            }
            BatchOperation::Replace { id, body, .. } => {
                valid(id)?;
                if body_id(body)? != *id {
                    return Err(format!("the item's id differs from {id:?}"));
                }
                Ok(())
            }
            BatchOperation::Read { id } | BatchOperation::Delete { id, .. } => valid(id),
            BatchOperation::Patch { id, patch, .. } => {
                valid(id)?;
                patch.validate().map_err(|e| e.to_string())
            }
        }
    }

    pub(crate) fn if_match_mut(&mut self) -> Option<&mut Option<String>> {
        match self {
            BatchOperation::Upsert { if_match, .. }
            | BatchOperation::Replace { if_match, .. }
            | BatchOperation::Delete { if_match, .. }
            | BatchOperation::Patch { if_match, .. } => Some(if_match),
            BatchOperation::Create { .. } | BatchOperation::Read { .. } => None,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            BatchOperation::Create { .. } => "create",
            BatchOperation::Upsert { .. } => "upsert",
            BatchOperation::Read { .. } => "read",
            BatchOperation::Replace { .. } => "replace",
            BatchOperation::Delete { .. } => "delete",
            BatchOperation::Patch { .. } => "patch",
        }
    }
}

/// A transactional batch on one partition key: every operation commits or none does.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionalBatch {
    partition_key: PartitionKey,
    operations: Vec<BatchOperation>,
    /// A problem found while adding (an item body that is not JSON).
    problem: Option<String>,
}

impl TransactionalBatch {
    /// An empty batch for `partition_key`.
    pub fn new(partition_key: impl Into<PartitionKey>) -> TransactionalBatch {
        TransactionalBatch {
            partition_key: partition_key.into(),
            operations: Vec::new(),
            problem: None,
        }
    }

    fn push(mut self, op: BatchOperation) -> Self {
        self.operations.push(op);
        self
    }

    fn json(&mut self, what: &str, body: &[u8]) -> Value {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                if self.problem.is_none() {
                    self.problem = Some(format!(
                        "operation {} ({what}): the item is not JSON: {e}",
                        self.operations.len()
                    ));
                }
                Value::Null
            }
        }
    }

    /// Creates an item (raw JSON).
    pub fn create(mut self, item: impl AsRef<[u8]>) -> Self {
        let body = self.json("create", item.as_ref());
        self.push(BatchOperation::Create { body })
    }

    /// Creates or replaces an item (raw JSON).
    pub fn upsert(mut self, item: impl AsRef<[u8]>) -> Self {
        let body = self.json("upsert", item.as_ref());
        self.push(BatchOperation::Upsert {
            body,
            if_match: None,
        })
    }

    /// Reads an item.
    pub fn read(self, id: impl Into<String>) -> Self {
        self.push(BatchOperation::Read { id: id.into() })
    }

    /// Replaces an item (raw JSON).
    pub fn replace(mut self, id: impl Into<String>, item: impl AsRef<[u8]>) -> Self {
        let body = self.json("replace", item.as_ref());
        self.push(BatchOperation::Replace {
            id: id.into(),
            body,
            if_match: None,
        })
    }

    /// Deletes an item.
    pub fn delete(self, id: impl Into<String>) -> Self {
        self.push(BatchOperation::Delete {
            id: id.into(),
            if_match: None,
        })
    }

    /// Patches an item.
    pub fn patch(self, id: impl Into<String>, patch: PatchBuilder) -> Self {
        self.push(BatchOperation::Patch {
            id: id.into(),
            patch,
            if_match: None,
        })
    }

    /// Makes the last operation (upsert, replace, delete or patch) conditional on the item's
    /// etag; the whole batch fails with 412 on a mismatch.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        let etag = etag.into();
        match self
            .operations
            .last_mut()
            .map(|op| (op.name(), op.if_match_mut()))
        {
            Some((_, Some(slot))) => *slot = Some(etag),
            Some((name, None)) => {
                if self.problem.is_none() {
                    self.problem = Some(format!(
                        "operation {} ({name}) cannot carry if-match",
                        self.operations.len() - 1
                    ));
                }
            }
            None => {
                if self.problem.is_none() {
                    self.problem = Some("if_match before any operation".into());
                }
            }
        }
        self
    }

    /// The partition key every operation works on.
    pub fn partition_key(&self) -> &PartitionKey {
        &self.partition_key
    }

    /// The operations, in order.
    pub fn operations(&self) -> &[BatchOperation] {
        &self.operations
    }

    /// The request body, checked: 1 to [`MAX_BATCH_OPERATIONS`] operations, item bodies that are
    /// JSON objects with a valid string `id` (equal to the addressed id for a replace), valid
    /// ids, valid patches, and at most [`MAX_BATCH_BYTES`]. The error names the operation.
    pub fn to_body(&self) -> Result<Vec<u8>, ConfigError> {
        let bad = |what: String| ConfigError::InvalidOperation(format!("batch: {what}"));
        if let Some(p) = &self.problem {
            return Err(bad(p.clone()));
        }
        if self.operations.is_empty() {
            return Err(bad("no operations".into()));
        }
        if self.operations.len() > MAX_BATCH_OPERATIONS {
            return Err(bad(format!(
                "{} operations; the service accepts at most {MAX_BATCH_OPERATIONS} per batch",
                self.operations.len()
            )));
        }
        for (i, op) in self.operations.iter().enumerate() {
            op.check()
                .map_err(|e| bad(format!("operation {i} ({}): {e}", op.name())))?;
        }
        let body = Value::Array(
            self.operations
                .iter()
                .map(BatchOperation::to_json)
                .collect(),
        );
        let bytes = serde_json::to_vec(&body).map_err(|e| bad(e.to_string()))?;
        if bytes.len() > MAX_BATCH_BYTES {
            return Err(bad(format!(
                "the request is {} bytes; the service accepts at most {MAX_BATCH_BYTES}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_wire_form_and_names_each_problem() {
        let b = TransactionalBatch::new("p")
            .create(r#"{"id":"a","pk":"p"}"#)
            .replace("b", r#"{"id":"b","pk":"p"}"#)
            .if_match("\"e1\"")
            .patch("c", PatchBuilder::new().increment("/n", 1))
            .read("d")
            .delete("e");
        let v: Value = serde_json::from_slice(&b.to_body().unwrap()).unwrap();
        assert_eq!(
            v[0],
            json!({"operationType": "Create", "resourceBody": {"id": "a", "pk": "p"}})
        );
        assert_eq!(v[1]["ifMatch"], "\"e1\"");
        assert_eq!(v[2]["resourceBody"]["operations"][0]["op"], "incr");
        assert_eq!(v[3], json!({"operationType": "Read", "id": "d"}));
        let err = |b: TransactionalBatch| b.to_body().unwrap_err().to_string();
        assert!(err(TransactionalBatch::new("p")).contains("no operations"));
        let many = (0..101).fold(TransactionalBatch::new("p"), |b, i| b.read(format!("i{i}")));
        assert!(err(many).contains("at most 100"));
        assert!(err(TransactionalBatch::new("p").create("nope")).contains("operation 0 (create)"));
        assert!(err(TransactionalBatch::new("p").create(r#"{"x":1}"#)).contains("string \"id\""));
        assert!(
            err(TransactionalBatch::new("p").replace("a", r#"{"id":"b"}"#)).contains("differs")
        );
        assert!(err(TransactionalBatch::new("p").read("a").if_match("e"))
            .contains("cannot carry if-match"));
        let big = format!(r#"{{"id":"a","pad":"{}"}}"#, "x".repeat(MAX_BATCH_BYTES));
        assert!(err(TransactionalBatch::new("p").create(big)).contains("at most 2097152"));
        assert!(err(TransactionalBatch::new("p").delete("a/b")).contains("a/b"));
    }
}
