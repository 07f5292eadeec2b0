//! Server-side scripts of a container (PROTOCOL.md §10.2): stored procedures, user-defined
//! functions and triggers, each a JavaScript `body`. Unknown fields are kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored procedure: `{"id", "body"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProcedureProperties {
    /// The id.
    pub id: String,
    /// The JavaScript source (`function (...) { ... }`).
    pub body: String,
    /// Everything else the service returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl StoredProcedureProperties {
    /// A stored procedure.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> Self {
        StoredProcedureProperties {
            id: id.into(),
            body: body.into(),
            other: Map::new(),
        }
    }
}

/// A user-defined function, callable from queries as `udf.<id>(...)`: `{"id", "body"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDefinedFunctionProperties {
    /// The id.
    pub id: String,
    /// The JavaScript source.
    pub body: String,
    /// Everything else the service returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UserDefinedFunctionProperties {
    /// A user-defined function.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> Self {
        UserDefinedFunctionProperties {
            id: id.into(),
            body: body.into(),
            other: Map::new(),
        }
    }
}

/// When a trigger runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerType {
    /// Before the operation (it may change the request body).
    Pre,
    /// After the operation, in the same transaction.
    Post,
}

/// Which operations a trigger may be named on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerOperation {
    /// Every operation.
    All,
    /// Creates.
    Create,
    /// Replaces.
    Replace,
    /// Deletes.
    Delete,
    /// Upserts and patches.
    Update,
}

/// A trigger: `{"id", "body", "triggerType", "triggerOperation"}`. It runs only when an item
/// request names it (`OperationOptions::with_pre_trigger` / `with_post_trigger`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerProperties {
    /// The id.
    pub id: String,
    /// The JavaScript source.
    pub body: String,
    /// Pre or Post.
    #[serde(rename = "triggerType")]
    pub trigger_type: TriggerType,
    /// The operations it applies to.
    #[serde(rename = "triggerOperation")]
    pub trigger_operation: TriggerOperation,
    /// Everything else the service returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl TriggerProperties {
    /// A trigger.
    pub fn new(
        id: impl Into<String>,
        body: impl Into<String>,
        trigger_type: TriggerType,
        trigger_operation: TriggerOperation,
    ) -> Self {
        TriggerProperties {
            id: id.into(),
            body: body.into(),
            trigger_type,
            trigger_operation,
            other: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes_match_protocol_10_2() {
        let t = TriggerProperties::new(
            "stamp",
            "function(){}",
            TriggerType::Pre,
            TriggerOperation::Create,
        );
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"id": "stamp", "body": "function(){}", "triggerType": "Pre", "triggerOperation": "Create"})
        );
        let s = StoredProcedureProperties::new("sp", "function(a){}");
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"id": "sp", "body": "function(a){}"})
        );
        let u: UserDefinedFunctionProperties = serde_json::from_value(
            json!({"id": "double", "body": "function(x){return 2*x}", "_rid": "r"}),
        )
        .unwrap();
        assert_eq!(u.other["_rid"], "r");
    }
}
