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
}

impl Fold {
    /// Folds one range's partial: the object holding `item` (and `item2` for MIN/MAX).
    pub fn add(&mut self, kind: Aggregate, part: &Value) -> Result<(), String> {
        let item = part.get("item").cloned();
        match kind {
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
        self.partial.is_some() || self.count > 0
    }

    /// The result; `None` is undefined (AVG or MIN/MAX of nothing).
    pub fn result(&self, kind: Aggregate) -> Option<Value> {
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
