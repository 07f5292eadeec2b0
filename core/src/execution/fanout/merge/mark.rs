//! Where an ORDER BY producer stands inside its current page, by value: the sort keys of the
//! last row returned from it and the `_rid`s of the returned rows with exactly those keys.
//!
//! A count of returned rows is enough to resume on the same range (its page comes back the
//! same), but not after the range split: each child's page holds a different subset of the
//! parent's rows. With the mark, a child drops the rows that sort before the keys and the rows
//! with equal keys whose `_rid` was returned. Precedent: .NET `OrderByContinuationToken`
//! (`orderByItems`, `rid`, `skipCount`) and the JS resumption filter (PROTOCOL.md §7.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The mark of one producer (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Sort keys of the last returned row; each `[]` (undefined) or `[value]`, so undefined and
    /// `null` stay apart in JSON.
    #[serde(rename = "k")]
    keys: Vec<Vec<Value>>,
    /// `_rid`s of the returned rows whose keys equal `keys`.
    #[serde(rename = "r")]
    rids: Vec<String>,
}

fn wrap(keys: &[Option<Value>]) -> Vec<Vec<Value>> {
    keys.iter().map(|k| k.iter().cloned().collect()).collect()
}

impl Mark {
    /// Notes that the row with `keys` and `rid` was returned (rows come in sort order).
    pub fn note(mark: &mut Option<Mark>, keys: &[Option<Value>], rid: Option<&str>) {
        let wrapped = wrap(keys);
        match mark {
            Some(m) if m.keys == wrapped => m.rids.extend(rid.map(str::to_owned)),
            _ => {
                *mark = Some(Mark {
                    keys: wrapped,
                    rids: rid.map(str::to_owned).into_iter().collect(),
                })
            }
        }
    }

    /// The sort keys, undefined as `None`.
    pub fn keys(&self) -> Vec<Option<Value>> {
        self.keys.iter().map(|k| k.first().cloned()).collect()
    }

    /// True when a row with these keys (equal to the mark's) and `rid` was returned.
    pub fn returned(&self, rid: Option<&str>) -> bool {
        rid.is_some_and(|r| self.rids.iter().any(|x| x == r))
    }

    /// The mark as JSON (for the continuation token).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A mark from a token; `None` when it is not one.
    pub fn from_json(v: &Value) -> Option<Mark> {
        Mark::deserialize(v).ok()
    }
}
