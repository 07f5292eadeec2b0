//! `QuerySpec`: SQL text with named parameters, as the service takes it (PROTOCOL.md §7.1).

use serde_json::Value;

use crate::error::ConfigError;

/// Longest query text accepted (bytes). Precedent: the service's documented SQL query size
/// limit is 512 KB ("Azure Cosmos DB service quotas", SQL query limits).
pub const MAX_QUERY_TEXT_BYTES: usize = 512 * 1024;

/// Most parameters accepted. Precedent: the service's limit on parameters per query (the
/// documented "maximum number of parameters" quota is not published; 1,000 bounds the body and
/// is far above what any SDK sample uses).
pub const MAX_QUERY_PARAMETERS: usize = 1_000;

/// A SQL query and its parameters. Parameter names start with `@`; values are any JSON.
///
/// ```
/// use sextant_core::operation::QuerySpec;
/// let q = QuerySpec::new("SELECT * FROM c WHERE c.n > @min AND c.cat = @cat")
///     .with_parameter("@min", 3)
///     .with_parameter("@cat", "a");
/// assert_eq!(q.parameters().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    text: String,
    parameters: Vec<(String, Value)>,
}

impl QuerySpec {
    /// A query without parameters.
    pub fn new(text: impl Into<String>) -> Self {
        QuerySpec {
            text: text.into(),
            parameters: Vec::new(),
        }
    }

    /// Adds (or replaces) the parameter `name` (which must start with `@`).
    pub fn with_parameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        let value = value.into();
        match self.parameters.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.parameters.push((name, value)),
        }
        self
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parameters, in the order they were added.
    pub fn parameters(&self) -> &[(String, Value)] {
        &self.parameters
    }

    /// Checks the text and parameter names; the error names the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.text.trim().is_empty() {
            return Err(ConfigError::InvalidOperation("query text is empty".into()));
        }
        if self.text.len() > MAX_QUERY_TEXT_BYTES {
            return Err(ConfigError::InvalidOperation(format!(
                "query text is {} bytes; the limit is {MAX_QUERY_TEXT_BYTES}",
                self.text.len()
            )));
        }
        if self.parameters.len() > MAX_QUERY_PARAMETERS {
            return Err(ConfigError::InvalidOperation(format!(
                "query has {} parameters; the limit is {MAX_QUERY_PARAMETERS}",
                self.parameters.len()
            )));
        }
        for (name, _) in &self.parameters {
            let valid = name.len() > 1
                && name.starts_with('@')
                && name[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(ConfigError::InvalidOperation(format!(
                    "query parameter name {name:?} must be @ followed by letters, digits or _"
                )));
            }
        }
        Ok(())
    }

    /// Reads a spec back from its request body (replay); the error says what is wrong.
    pub(crate) fn from_body(body: &[u8]) -> Result<QuerySpec, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("query body is not JSON: {e}"))?;
        let text = v
            .get("query")
            .and_then(Value::as_str)
            .ok_or("query body has no \"query\" string")?;
        let mut spec = QuerySpec::new(text);
        if let Some(params) = v.get("parameters").and_then(Value::as_array) {
            for p in params {
                let name = p
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("query parameter without a \"name\" string")?;
                let value = p.get("value").cloned().unwrap_or(Value::Null);
                spec = spec.with_parameter(name, value);
            }
        }
        Ok(spec)
    }

    /// The request body: `{"query": "...", "parameters": [{"name": "@p", "value": ...}]}`.
    pub fn to_body(&self) -> Vec<u8> {
        let parameters: Vec<Value> = self
            .parameters
            .iter()
            .map(|(n, v)| serde_json::json!({ "name": n, "value": v }))
            .collect();
        let body = serde_json::json!({ "query": self.text, "parameters": parameters });
        // Serializing a `Value` cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_service_shape() {
        let q = QuerySpec::new("SELECT * FROM c WHERE c.a = @a").with_parameter("@a", "x\"y");
        let v: Value = serde_json::from_slice(&q.to_body()).unwrap();
        assert_eq!(v["query"], "SELECT * FROM c WHERE c.a = @a");
        assert_eq!(v["parameters"][0]["name"], "@a");
        assert_eq!(v["parameters"][0]["value"], "x\"y");
    }

    #[test]
    fn a_repeated_parameter_replaces_the_earlier_value() {
        let q = QuerySpec::new("q")
            .with_parameter("@a", 1)
            .with_parameter("@a", 2);
        assert_eq!(q.parameters(), &[("@a".to_string(), Value::from(2))]);
    }

    #[test]
    fn bad_specs_are_refused_by_name() {
        for (q, needle) in [
            (QuerySpec::new("  "), "empty"),
            (QuerySpec::new("q").with_parameter("a", 1), "\"a\""),
            (QuerySpec::new("q").with_parameter("@a-b", 1), "\"@a-b\""),
            (
                QuerySpec::new("x".repeat(MAX_QUERY_TEXT_BYTES + 1)),
                "bytes",
            ),
        ] {
            let e = q.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
