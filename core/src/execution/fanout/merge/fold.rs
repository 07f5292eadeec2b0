//! Folding aggregate partials from several ranges (PROTOCOL.md §7.5 "VALUE aggregates").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Aggregate;
use crate::execution::fanout::order::compare;

/// One aggregate being folded across ranges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fold {
    partial: Option<Value>,
    count: u64,
    /// A range's partial was undefined although the range had candidates (SUM or AVG over a
    /// non-number, MIN/MAX over values the service cannot order): the whole aggregate is
    /// undefined, as the service says for one range (the .NET aggregators' rule).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    undefined: bool,
}

impl Fold {
    /// Folds one range's partial: the object holding `item` (and `item2` for MIN/MAX).
    pub fn add(&mut self, kind: Aggregate, part: &Value) -> Result<(), String> {
        let item = part.get("item").cloned();
        match kind {
            Aggregate::Sum if item.is_none() => {
                // SUM over no documents is 0, so a missing item means a non-number was seen.
                self.undefined = true;
            }
            Aggregate::Count | Aggregate::Sum => {
                if let Some(Value::Number(n)) = &item {
                    let add = n.as_f64().unwrap_or(0.0);
                    let total = match &self.partial {
                        Some(Value::Number(t)) => t.as_f64().unwrap_or(0.0) + add,
                        _ => add,
                    };
                    self.partial = number(total, n.is_i64() || n.is_u64());
                } else if kind == Aggregate::Sum && item.is_some() {
                    return Err("SUM over a non-number partial".into());
                }
            }
            Aggregate::Min | Aggregate::Max => {
                // `item2.count` tells an empty range (no candidate) from an undefined minimum.
                let count = part
                    .get("item2")
                    .and_then(|i| i.get("count"))
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::from(item.is_some()));
                if count == 0 {
                    return Ok(());
                }
                if item.is_none() {
                    self.undefined = true;
                    return Ok(());
                }
                let better = match &self.partial {
                    None => true,
                    Some(p) => {
                        let o = compare(item.as_ref(), Some(p));
                        if kind == Aggregate::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    self.partial = item;
                }
            }
            Aggregate::Average => {
                let part = item.unwrap_or(Value::Null);
                let count = part.get("count").and_then(Value::as_u64).unwrap_or(0);
                if count > 0 && part.get("sum").and_then(Value::as_f64).is_none() {
                    self.undefined = true;
                }
                if let Some(s) = part.get("sum").and_then(Value::as_f64) {
                    let total = match &self.partial {
                        Some(Value::Number(t)) => t.as_f64().unwrap_or(0.0) + s,
                        _ => s,
                    };
                    self.partial = number(total, false);
                }
                self.count = self.count.saturating_add(count);
            }
        }
        Ok(())
    }

    /// True once a partial was folded in.
    pub fn started(&self) -> bool {
        self.partial.is_some() || self.count > 0 || self.undefined
    }

    /// The result; `None` is undefined (AVG or MIN/MAX of nothing).
    pub fn result(&self, kind: Aggregate) -> Option<Value> {
        if self.undefined && kind != Aggregate::Count {
            return None;
        }
        match kind {
            Aggregate::Average => match (&self.partial, self.count) {
                (Some(Value::Number(sum)), n) if n > 0 => {
                    serde_json::Number::from_f64(sum.as_f64().unwrap_or(0.0) / n as f64)
                        .map(Value::Number)
                }
                _ => None,
            },
            Aggregate::Count => Some(self.partial.clone().unwrap_or(Value::from(0))),
            _ => self.partial.clone(),
        }
    }
}

/// `v` as a JSON number, an integer when it is one and `integral` inputs made it.
fn number(v: f64, integral: bool) -> Option<Value> {
    if integral && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        return Some(Value::from(v as i64));
    }
    serde_json::Number::from_f64(v).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fold(kind: Aggregate, parts: &[Value]) -> Option<Value> {
        let mut f = Fold::default();
        for p in parts {
            f.add(kind, p).unwrap();
        }
        f.result(kind)
    }

    /// One range's undefined partial makes the aggregate undefined, in any range order; an
    /// empty range does not.
    #[test]
    fn an_undefined_partial_is_sticky_and_an_empty_range_is_not_one() {
        let sum = [json!({"item": 3}), json!({}), json!({"item": 4})];
        assert_eq!(fold(Aggregate::Sum, &sum), None);
        assert_eq!(
            fold(Aggregate::Sum, &[json!({"item": 3}), json!({"item": 0})]),
            Some(json!(3))
        );
        let min_undefined = json!({"item2": {"min": null, "count": 2}});
        let min_empty = json!({"item2": {"count": 0}});
        let min_one = json!({"item": 5, "item2": {"min": 5, "count": 1}});
        assert_eq!(
            fold(Aggregate::Min, &[min_one.clone(), min_undefined.clone()]),
            None
        );
        assert_eq!(
            fold(Aggregate::Min, &[min_undefined, min_one.clone()]),
            None
        );
        assert_eq!(fold(Aggregate::Min, &[min_empty, min_one]), Some(json!(5)));
        let avg = [
            json!({"item": {"sum": 4, "count": 2}}),
            json!({"item": {"count": 3}}),
        ];
        assert_eq!(fold(Aggregate::Average, &avg), None);
        assert_eq!(
            fold(
                Aggregate::Average,
                &[
                    json!({"item": {"sum": 4, "count": 2}}),
                    json!({"item": {"sum": 0, "count": 0}})
                ]
            ),
            Some(json!(2.0))
        );
        assert_eq!(
            fold(Aggregate::Count, &[json!({"item": 2}), json!({})]),
            Some(json!(2))
        );
    }
}
