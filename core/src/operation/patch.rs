//! Partial updates (PROTOCOL.md §8.1): [`PatchBuilder`] collects the operations the service
//! applies atomically to one item, `CosmosOperation::patch` sends them.
//!
//! Write safety: a patch made only of `set`, `replace` and `add` to an object key gives the same
//! document when applied twice, so the core may retry it after an ambiguous failure like a
//! conditional write; `incr`, `move`, `remove` (a second application fails) and `add` into an
//! array (a second element) do not, and are never replayed unless `if-match` makes the whole
//! request conditional or the caller opted in (PROTOCOL.md §4).

use serde_json::{json, Value};

use crate::error::ConfigError;

/// Most operations in one patch request. Precedent: the service's limit, quoted by the official
/// Rust SDK (`patch_strategy.rs`: "The service accepts at most 10 instructions in one
/// server-side PATCH") and enforced by the local server ("can't exceed 10").
pub const MAX_PATCH_OPERATIONS: usize = 10;

/// Longest path accepted (bytes); the service bounds document nesting and property names far
/// below it, so anything longer is a mistake named before sending.
pub const MAX_PATCH_PATH_BYTES: usize = 1024;

/// One patch operation.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOperation {
    /// `add`: set an object key, or insert into an array at an index (`-` appends).
    Add {
        /// JSON Pointer of the target.
        path: String,
        /// The value.
        value: Value,
    },
    /// `set`: set the target, creating a missing leaf.
    Set {
        /// JSON Pointer of the target.
        path: String,
        /// The value.
        value: Value,
    },
    /// `replace`: replace an existing target.
    Replace {
        /// JSON Pointer of the target.
        path: String,
        /// The value.
        value: Value,
    },
    /// `remove`: remove an existing target.
    Remove {
        /// JSON Pointer of the target.
        path: String,
    },
    /// `incr`: add a number to the target (a missing target is set to it).
    Increment {
        /// JSON Pointer of the target.
        path: String,
        /// The increment (integer or float).
        value: serde_json::Number,
    },
    /// `move`: move the value at `from` to `path`.
    Move {
        /// JSON Pointer of the source.
        from: String,
        /// JSON Pointer of the target.
        path: String,
    },
}

impl PatchOperation {
    /// The wire form (`incr` is the service's tag for increments, PROTOCOL.md §8.1).
    fn to_json(&self) -> Value {
        match self {
            PatchOperation::Add { path, value } => {
                json!({"op": "add", "path": path, "value": value})
            }
            PatchOperation::Set { path, value } => {
                json!({"op": "set", "path": path, "value": value})
            }
            PatchOperation::Replace { path, value } => {
                json!({"op": "replace", "path": path, "value": value})
            }
            PatchOperation::Remove { path } => json!({"op": "remove", "path": path}),
            PatchOperation::Increment { path, value } => {
                json!({"op": "incr", "path": path, "value": value})
            }
            PatchOperation::Move { from, path } => {
                json!({"op": "move", "from": from, "path": path})
            }
        }
    }

    fn paths(&self) -> Vec<(&'static str, &str)> {
        match self {
            PatchOperation::Add { path, .. }
            | PatchOperation::Set { path, .. }
            | PatchOperation::Replace { path, .. }
            | PatchOperation::Remove { path }
            | PatchOperation::Increment { path, .. } => vec![("path", path)],
            PatchOperation::Move { from, path } => vec![("from", from), ("path", path)],
        }
    }
}

/// The operations of one patch request and its optional SQL condition; checked when the
/// operation is built (`CosmosOperation::patch`), never on the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatchBuilder {
    operations: Vec<PatchOperation>,
    condition: Option<String>,
}

impl PatchBuilder {
    /// An empty patch.
    pub fn new() -> PatchBuilder {
        PatchBuilder::default()
    }

    /// Adds `value` at `path` (an object key, or an array index; `/arr/-` appends).
    pub fn add(mut self, path: impl Into<String>, value: impl Into<Value>) -> Self {
        self.operations.push(PatchOperation::Add {
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// Sets `path` to `value`, creating a missing leaf.
    pub fn set(mut self, path: impl Into<String>, value: impl Into<Value>) -> Self {
        self.operations.push(PatchOperation::Set {
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// Replaces the existing value at `path`.
    pub fn replace(mut self, path: impl Into<String>, value: impl Into<Value>) -> Self {
        self.operations.push(PatchOperation::Replace {
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// Removes the existing value at `path`.
    pub fn remove(mut self, path: impl Into<String>) -> Self {
        self.operations
            .push(PatchOperation::Remove { path: path.into() });
        self
    }

    /// Adds `by` (an integer or a float) to the number at `path`.
    pub fn increment(mut self, path: impl Into<String>, by: impl Into<serde_json::Number>) -> Self {
        self.operations.push(PatchOperation::Increment {
            path: path.into(),
            value: by.into(),
        });
        self
    }

    /// Moves the value at `from` to `path`.
    pub fn move_value(mut self, from: impl Into<String>, path: impl Into<String>) -> Self {
        self.operations.push(PatchOperation::Move {
            from: from.into(),
            path: path.into(),
        });
        self
    }

    /// Applies the patch only if the item matches this SQL filter (`from c where c.stock > 0`);
    /// otherwise the service answers 412.
    pub fn condition(mut self, filter: impl Into<String>) -> Self {
        self.condition = Some(filter.into());
        self
    }

    /// The operations so far.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// Checks the patch: 1 to [`MAX_PATCH_OPERATIONS`] operations, JSON Pointer paths that start
    /// with `/` and are not the document root, finite increments, a condition starting with
    /// `from`. The error names the operation and the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: String| ConfigError::InvalidOperation(format!("patch: {what}"));
        if self.operations.is_empty() {
            return Err(bad("no operations (add at least one)".into()));
        }
        if self.operations.len() > MAX_PATCH_OPERATIONS {
            return Err(bad(format!(
                "{} operations; the service accepts at most {MAX_PATCH_OPERATIONS} per request",
                self.operations.len()
            )));
        }
        for (i, op) in self.operations.iter().enumerate() {
            for (field, p) in op.paths() {
                if !p.starts_with('/') || p.len() < 2 {
                    return Err(bad(format!(
                        "operation {i}: {field} {:?} is not a JSON Pointer below the document root (\"/name\")",
                        p.chars().take(64).collect::<String>()
                    )));
                }
                if p.len() > MAX_PATCH_PATH_BYTES {
                    return Err(bad(format!(
                        "operation {i}: {field} is {} bytes (limit {MAX_PATCH_PATH_BYTES})",
                        p.len()
                    )));
                }
            }
            if let PatchOperation::Increment { value, .. } = op {
                if value.as_f64().is_none_or(|v| !v.is_finite()) {
                    return Err(bad(format!(
                        "operation {i}: increment {value} is not finite"
                    )));
                }
            }
        }
        if let Some(c) = &self.condition {
            let starts = c
                .trim_start()
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("from "));
            if !starts {
                return Err(bad(format!(
                    "condition {:?} must be a filter like \"from c where c.x > 0\"",
                    c.chars().take(64).collect::<String>()
                )));
            }
        }
        Ok(())
    }

    /// The request body `{"operations": [...], "condition": ...}`.
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = json!({
            "operations": self.operations.iter().map(PatchOperation::to_json).collect::<Vec<_>>(),
        });
        if let Some(c) = &self.condition {
            body["condition"] = json!(c);
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// True when the patch `body` gives the same document applied twice (see the module docs): only
/// `set`, `replace` and `add` to a path whose last segment is not an array position.
pub(crate) fn is_idempotent(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Some(ops) = v.get("operations").and_then(Value::as_array) else {
        return false;
    };
    ops.iter().all(|op| {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let last = path.rsplit('/').next().unwrap_or("");
        let array_position =
            last == "-" || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()));
        match op.get("op").and_then(Value::as_str) {
            Some("set") | Some("replace") => true,
            Some("add") => !array_position,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_wire_body_and_names_what_is_wrong() {
        let p = PatchBuilder::new()
            .set("/a", 1)
            .increment("/n", 2)
            .move_value("/x", "/y")
            .condition("from c where c.n > 0");
        p.validate().unwrap();
        let body: Value = serde_json::from_slice(&p.to_body()).unwrap();
        assert_eq!(
            body["operations"][1],
            json!({"op": "incr", "path": "/n", "value": 2})
        );
        assert_eq!(
            body["operations"][2],
            json!({"op": "move", "from": "/x", "path": "/y"})
        );
        assert_eq!(body["condition"], "from c where c.n > 0");
        let eleven = (0..11).fold(PatchBuilder::new(), |p, i| p.set(format!("/k{i}"), i));
        assert!(eleven
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at most 10"));
        assert!(PatchBuilder::new()
            .validate()
            .unwrap_err()
            .to_string()
            .contains("no operations"));
        let root = PatchBuilder::new()
            .remove("/")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            root.contains("operation 0") && root.contains("path"),
            "{root}"
        );
        let from = PatchBuilder::new()
            .move_value("x", "/y")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(from.contains("from"), "{from}");
        let cond = PatchBuilder::new()
            .set("/a", 1)
            .condition("c.n > 0")
            .validate();
        assert!(cond.unwrap_err().to_string().contains("condition"));
        let inf = serde_json::Number::from_f64(1.5).unwrap();
        assert!(PatchBuilder::new().increment("/n", inf).validate().is_ok());
    }

    #[test]
    fn only_repeatable_patches_are_idempotent() {
        let body = |p: PatchBuilder| p.to_body();
        assert!(is_idempotent(&body(
            PatchBuilder::new()
                .set("/a", 1)
                .replace("/b", 2)
                .add("/c", 3)
        )));
        assert!(!is_idempotent(&body(
            PatchBuilder::new().increment("/n", 1)
        )));
        assert!(!is_idempotent(&body(
            PatchBuilder::new().add("/tags/-", "x")
        )));
        assert!(!is_idempotent(&body(
            PatchBuilder::new().add("/tags/0", "x")
        )));
        assert!(!is_idempotent(&body(PatchBuilder::new().remove("/a"))));
        assert!(!is_idempotent(&body(
            PatchBuilder::new().move_value("/a", "/b")
        )));
        assert!(!is_idempotent(b"not json"));
    }
}
