//! Users and permissions (PROTOCOL.md §10.3): a permission grants one user read or full access
//! to a resource, and its `_token` is a resource token an application can hand to a client.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::ResourceToken;
use crate::models::PartitionKey;

/// A database user (`{"id": "alice"}`). Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProperties {
    /// The user id.
    pub id: String,
    /// Everything else the service returned (`_rid`, `_etag`, `_permissions`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UserProperties {
    /// A new user.
    pub fn new(id: impl Into<String>) -> Self {
        UserProperties {
            id: id.into(),
            other: Map::new(),
        }
    }
}

/// What a permission allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PermissionMode {
    /// Reads, feeds and queries.
    Read,
    /// Everything, writes included.
    All,
}

/// A permission of a user on one resource. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionProperties {
    /// The permission id.
    pub id: String,
    /// Read or All.
    #[serde(rename = "permissionMode")]
    pub permission_mode: PermissionMode,
    /// The resource it covers, as a link (`dbs/db/colls/orders`, or an item's link).
    pub resource: String,
    /// Narrows the permission to one logical partition (`resourcePartitionKey`), as a JSON
    /// array of the key's components.
    #[serde(
        rename = "resourcePartitionKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_partition_key: Option<Value>,
    /// The resource token the service minted (`_token`; present on responses only).
    #[serde(rename = "_token", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Everything else the service returned (`_rid`, `_etag`, `_ts`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl PermissionProperties {
    /// A permission for `resource` (a link such as `dbs/db/colls/c`, without leading slash).
    pub fn new(id: impl Into<String>, mode: PermissionMode, resource: impl Into<String>) -> Self {
        PermissionProperties {
            id: id.into(),
            permission_mode: mode,
            resource: resource.into().trim_matches('/').to_owned(),
            resource_partition_key: None,
            token: None,
            other: Map::new(),
        }
    }

    /// Narrows the permission to one logical partition of its container.
    pub fn with_partition_key(mut self, key: impl Into<PartitionKey>) -> Self {
        let key: PartitionKey = key.into();
        self.resource_partition_key = serde_json::from_str(&key.to_header_value()).ok();
        self
    }

    /// The resource token of a permission the service returned, ready for
    /// `AccountReference::with_resource_tokens`; `None` on a permission that has none.
    pub fn resource_token(&self) -> Option<ResourceToken> {
        self.token.as_ref().map(|t| ResourceToken {
            resource_link: self.resource.trim_matches('/').to_owned(),
            token: t.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn permission_wire_shape_matches_the_js_definition() {
        let p = PermissionProperties::new(
            "read-orders",
            PermissionMode::Read,
            "/dbs/db1/colls/orders/",
        )
        .with_partition_key("tenant-1");
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"id": "read-orders", "permissionMode": "Read", "resource": "dbs/db1/colls/orders",
                   "resourcePartitionKey": ["tenant-1"]})
        );
        let back: PermissionProperties = serde_json::from_value(json!({
            "id": "p", "permissionMode": "All", "resource": "dbs/db1/colls/orders",
            "_token": "type=resource&ver=1.0&sig=abc", "_rid": "x", "newField": 1
        }))
        .unwrap();
        let token = back.resource_token().unwrap();
        assert_eq!(token.resource_link, "dbs/db1/colls/orders");
        assert_eq!(token.token, "type=resource&ver=1.0&sig=abc");
        assert_eq!(serde_json::to_value(&back).unwrap()["newField"], 1);
    }
}
