//! Values typed on the command line: partition keys, `NAME=VALUE` pairs, JSON-or-text values.

use serde_json::Value;
use sextant_blocking::models::{PartitionKey, PartitionKeyValue};

use crate::failure::CliError;

/// `text` as JSON when it parses as JSON, else the text itself as a string (so `--pk c1` and
/// `--pk '"c1"'` are the same key, and `--pk 5` is the number 5).
pub fn json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// A partition key from the command line: a string, number, boolean or null, or an array of
/// up to three of them for a hierarchical key.
pub fn partition_key(text: &str) -> Result<PartitionKey, CliError> {
    let component = |v: &Value| -> Result<PartitionKeyValue, CliError> {
        Ok(match v {
            Value::String(s) => PartitionKeyValue::String(s.clone()),
            Value::Number(n) => PartitionKeyValue::Number(n.as_f64().ok_or_else(|| {
                CliError::invalid(format!("partition key number {n} is out of range"))
            })?),
            Value::Bool(b) => PartitionKeyValue::Bool(*b),
            Value::Null => PartitionKeyValue::Null,
            _ => {
                return Err(CliError::invalid(format!(
                    "--pk {text}: a partition key component is a string, number, boolean or null"
                )))
            }
        })
    };
    let parts = match json_or_text(text) {
        Value::Array(items) => items.iter().map(component).collect::<Result<Vec<_>, _>>()?,
        v => vec![component(&v)?],
    };
    PartitionKey::hierarchical(parts).map_err(|e| CliError::invalid(format!("--pk {text}: {e}")))
}

/// Splits `NAME=VALUE` at the first `=`; `what` names the flag for the error.
pub fn name_value<'a>(text: &'a str, what: &str) -> Result<(&'a str, &'a str), CliError> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| CliError::invalid(format!("{what} `{text}` is not NAME=VALUE")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_json_when_they_parse_and_text_otherwise() {
        assert_eq!(partition_key("c1").unwrap(), PartitionKey::from("c1"));
        assert_eq!(partition_key("\"5\"").unwrap(), PartitionKey::from("5"));
        assert_eq!(
            partition_key("5").unwrap(),
            PartitionKey::number(5.0).unwrap()
        );
        assert_eq!(partition_key("null").unwrap(), PartitionKey::null());
        assert_eq!(partition_key(r#"["a", 1]"#).unwrap().components().len(), 2);
        assert!(partition_key(r#"{"a":1}"#)
            .unwrap_err()
            .message
            .contains("--pk"));
        assert!(partition_key("[1,2,3,4]")
            .unwrap_err()
            .message
            .contains("at most 3"));
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(name_value("@a=b=c", "--param").unwrap(), ("@a", "b=c"));
        assert!(name_value("=x", "--param").is_err());
        assert!(name_value("nope", "--param")
            .unwrap_err()
            .message
            .contains("--param"));
    }
}
