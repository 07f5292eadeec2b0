//! Computed properties: item properties the service derives from a query at read time.
//!
//! Wire shape as .NET's `ComputedProperty` and JS `ComputedProperty.ts` write it:
//! `computedProperties: [{name, query}]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate;

/// A computed property: `name` holds what `query` (a `SELECT VALUE` over the item) returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputedProperty {
    /// The property name; choose one no item uses or will use.
    pub name: String,
    /// The query, such as `SELECT VALUE LOWER(c.name) FROM c`.
    pub query: String,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ComputedProperty {
    /// A computed property `name` defined by `query`.
    pub fn new(name: impl Into<String>, query: impl Into<String>) -> Self {
        ComputedProperty {
            name: name.into(),
            query: query.into(),
            other: Map::new(),
        }
    }

    pub(crate) fn validate_at(&self, at: &str) -> Result<(), ConfigError> {
        validate::not_blank(format!("{at}.name"), &self.name)?;
        validate::not_blank(format!("{at}.query"), &self.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_match_the_sdks() {
        // The Java/.NET SDK samples' `lowerName` property.
        let p = ComputedProperty::new("lowerName", "SELECT VALUE LOWER(c.name) FROM c");
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"name": "lowerName", "query": "SELECT VALUE LOWER(c.name) FROM c"})
        );
        let wire = json!({"name": "n", "query": "SELECT VALUE 1 FROM c", "future": [1]});
        let read: ComputedProperty = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), wire);
    }

    #[test]
    fn blank_name_or_query_is_refused_naming_the_field() {
        let err = ComputedProperty::new("", "SELECT VALUE 1 FROM c")
            .validate_at("computedProperties[2]")
            .unwrap_err();
        assert!(
            err.to_string().contains("computedProperties[2].name"),
            "{err}"
        );
        let err = ComputedProperty::new("n", " ")
            .validate_at("computedProperties[0]")
            .unwrap_err();
        assert!(
            err.to_string().contains("computedProperties[0].query"),
            "{err}"
        );
    }
}
