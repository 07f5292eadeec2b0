//! Cosmos DB's order of JSON values across types, and a canonical form for equality.
//!
//! Order (PROTOCOL.md §7.5; the local server agrees, LOCAL_SERVER.md 2:P7): undefined < null <
//! false < true < numbers < strings < arrays < objects. Numbers compare as f64; strings
//! ordinally (by UTF-16 code units, as the service's JavaScript-compatible comparison does);
//! arrays and objects, which ORDER BY rejects on the service, compare by their canonical text
//! so the order stays total.

use std::cmp::Ordering;

use serde_json::Value;

fn rank(v: Option<&Value>) -> u8 {
    match v {
        None => 0,
        Some(Value::Null) => 1,
        Some(Value::Bool(false)) => 2,
        Some(Value::Bool(true)) => 3,
        Some(Value::Number(_)) => 4,
        Some(Value::String(_)) => 5,
        Some(Value::Array(_)) => 6,
        Some(Value::Object(_)) => 7,
    }
}

/// Compares two values (`None` = undefined) in Cosmos DB order.
pub fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.encode_utf16().cmp(y.encode_utf16()),
        (Some(x @ (Value::Array(_) | Value::Object(_))), Some(y)) => {
            canonical(x).cmp(&canonical(y))
        }
        _ => Ordering::Equal,
    }
}

/// A canonical text of `v`: object keys sorted, numbers as f64 (so `1` and `1.0` are equal), for
/// DISTINCT and GROUP BY equality.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            out.push_str(&format!("{f:?}"));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = map.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cross_type_order() {
        let order = [
            None,
            Some(json!(null)),
            Some(json!(false)),
            Some(json!(true)),
            Some(json!(-1.5)),
            Some(json!(2)),
            Some(json!("")),
            Some(json!("a")),
            Some(json!("b")),
            Some(json!([1])),
            Some(json!({"a": 1})),
        ];
        for w in order.windows(2) {
            assert_eq!(
                compare(w[0].as_ref(), w[1].as_ref()),
                Ordering::Less,
                "{w:?}"
            );
        }
        assert_eq!(compare(Some(&json!(1)), Some(&json!(1.0))), Ordering::Equal);
    }

    #[test]
    fn canonical_ignores_key_order_and_number_spelling() {
        assert_eq!(
            canonical(&json!({"b": 1, "a": [1.0]})),
            canonical(&json!({"a": [1], "b": 1.0}))
        );
        assert_ne!(canonical(&json!("1")), canonical(&json!(1)));
    }
}
