//! The merge: turns the producers' pages into the query's results, as the SDK pipelines do
//! (PROTOCOL.md §7.5): a parallel drain in range order, or a streaming ORDER BY k-way merge;
//! VALUE aggregates folded across ranges; then DISTINCT, OFFSET, and LIMIT/TOP, in that order.
//!
//! A producer is asked for its next page only once its buffer is empty, so every buffered row
//! comes from the page its continuation token names: the continuation token records, per
//! producer, that page and how many of its rows were consumed, and a resumed query rebuilds this
//! exact state (no ORDER BY resumption filters needed).

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::order::{canonical, compare};
use super::plan::PlanView;

/// Most distinct values remembered for an unordered DISTINCT. Precedent: the .NET SDK keeps
/// every hash (unbounded); a bound turns a runaway set into a named error instead of memory
/// exhaustion.
pub const MAX_DISTINCT_VALUES: usize = 100_000;

/// A VALUE aggregate of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    /// `COUNT`
    Count,
    /// `SUM`
    Sum,
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `AVG` (ranges return `{sum, count}`)
    Average,
}

/// How producers' rows become results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// In range order; rows are results.
    Parallel,
    /// ORDER BY: rows `{orderByItems: [{item}], payload}`, merged by the items; `true` = DESC.
    OrderBy(Vec<bool>),
    /// `SELECT VALUE <aggregate>`: each range returns one `[{"item": partial}]` row.
    Aggregate(Aggregate),
}

/// One buffered row: its ORDER BY keys (undefined = `None`) and what it yields.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    keys: Vec<Option<Value>>,
    value: Value,
}

/// The merge state, kept between pages (and in recordings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Merge {
    shape: Shape,
    buffers: Vec<VecDeque<Row>>,
    done: Vec<bool>,
    /// Results to skip (OFFSET) before any is returned.
    skip: u64,
    /// Results still allowed (LIMIT or TOP); `None` = unbounded.
    remaining: Option<u64>,
    /// DISTINCT: `Some(false)` ordered (compare with the last), `Some(true)` unordered.
    distinct: Option<bool>,
    last: Option<String>,
    seen: BTreeSet<String>,
    /// Aggregate partials folded so far, and whether the result went out.
    partial: Option<Value>,
    count: u64,
    emitted: bool,
}

impl Merge {
    /// A merge for `plan` over `producers` ranges.
    pub fn new(plan: &PlanView, producers: usize) -> Merge {
        let remaining = match (plan.top, plan.limit) {
            (Some(t), Some(l)) => Some(t.min(l)),
            (t, l) => t.or(l),
        };
        Merge {
            shape: plan.shape.clone(),
            buffers: vec![VecDeque::new(); producers],
            done: vec![false; producers],
            skip: plan.offset.unwrap_or(0),
            remaining,
            distinct: plan.distinct,
            last: None,
            seen: BTreeSet::new(),
            partial: None,
            count: 0,
            emitted: false,
        }
    }

    /// Producers whose next page is needed (empty buffer, more pages).
    pub fn wanted(&self) -> Vec<usize> {
        if self.is_done() {
            return Vec::new();
        }
        (0..self.buffers.len())
            .filter(|&i| !self.done[i] && self.buffers[i].is_empty())
            .collect()
    }

    /// A page of producer `i`'s rows.
    pub fn push_page(&mut self, i: usize, rows: Vec<Value>, done: bool) -> Result<(), String> {
        let shape = self.shape.clone();
        let (Some(buffer), Some(d)) = (self.buffers.get_mut(i), self.done.get_mut(i)) else {
            return Err(format!("page for unknown producer {i}"));
        };
        for row in rows {
            buffer.push_back(parse_row(&shape, row)?);
        }
        *d = done;
        Ok(())
    }

    /// Rows buffered from producer `i`.
    pub fn buffered(&self, i: usize) -> usize {
        self.buffers.get(i).map_or(0, VecDeque::len)
    }

    /// Up to `max` results, and the producer of every row consumed to make them (rows that a
    /// DISTINCT or OFFSET dropped included: the continuation token skips them too).
    pub fn pop(&mut self, max: usize) -> Result<(Vec<Value>, Vec<usize>), String> {
        let mut out = Vec::new();
        let mut taken = Vec::new();
        while out.len() < max && self.remaining != Some(0) {
            let Some((from, value)) = self.next_row()? else {
                break;
            };
            if let Some(i) = from {
                taken.push(i);
            }
            if let Some(unordered) = self.distinct {
                let key = canonical(&value);
                let repeat = if unordered {
                    if self.seen.len() >= MAX_DISTINCT_VALUES && !self.seen.contains(&key) {
                        return Err(format!(
                            "DISTINCT over more than {MAX_DISTINCT_VALUES} values"
                        ));
                    }
                    !self.seen.insert(key)
                } else {
                    let repeat = self.last.as_deref() == Some(key.as_str());
                    self.last = Some(key);
                    repeat
                };
                if repeat {
                    continue;
                }
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if let Some(r) = self.remaining.as_mut() {
                *r -= 1;
            }
            out.push(value);
        }
        Ok((out, taken))
    }

    /// The next row in result order, or `None` when a producer must be read first (or all
    /// are exhausted).
    fn next_row(&mut self) -> Result<Option<(Option<usize>, Value)>, String> {
        match self.shape.clone() {
            Shape::Parallel => {
                for i in 0..self.buffers.len() {
                    if let Some(row) = self.buffers[i].pop_front() {
                        return Ok(Some((Some(i), row.value)));
                    }
                    if !self.done[i] {
                        return Ok(None); // range order: wait for this producer
                    }
                }
                Ok(None)
            }
            Shape::OrderBy(desc) => {
                let mut best: Option<usize> = None;
                for i in 0..self.buffers.len() {
                    match self.buffers[i].front() {
                        None if !self.done[i] => return Ok(None), // every live producer needed
                        None => continue,
                        Some(row) => {
                            let better = best.is_none_or(|b| {
                                let Some(other) = self.buffers[b].front() else {
                                    return true;
                                };
                                // Ties keep the producer with the smaller range (EPK order).
                                order_keys(&row.keys, &other.keys, &desc).is_lt()
                            });
                            if better {
                                best = Some(i);
                            }
                        }
                    }
                }
                Ok(best.and_then(|i| self.buffers[i].pop_front().map(|r| (Some(i), r.value))))
            }
            Shape::Aggregate(kind) => {
                if self.emitted {
                    return Ok(None);
                }
                for i in 0..self.buffers.len() {
                    while let Some(row) = self.buffers[i].pop_front() {
                        self.fold(kind, row.value)?;
                    }
                }
                if self.done.iter().any(|d| !d) {
                    return Ok(None);
                }
                self.emitted = true;
                let result = match kind {
                    Aggregate::Average => match (&self.partial, self.count) {
                        (Some(Value::Number(sum)), n) if n > 0 => {
                            serde_json::Number::from_f64(sum.as_f64().unwrap_or(0.0) / n as f64)
                                .map(Value::Number)
                        }
                        _ => None,
                    },
                    Aggregate::Count => Some(self.partial.clone().unwrap_or(Value::from(0))),
                    _ => self.partial.clone(),
                };
                // An undefined aggregate (AVG or MIN of nothing) yields no row, as the service.
                Ok(result.map(|v| (None, v)))
            }
        }
    }

    fn fold(&mut self, kind: Aggregate, row: Value) -> Result<(), String> {
        // A range's row: `{"item": partial}` (and `item2` for MIN/MAX: `{min|max, count}`).
        let item = row.get("item").cloned();
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
                let count = row
                    .get("item2")
                    .and_then(|i| i.get("count"))
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::from(item.is_some()));
                if count == 0 {
                    return Ok(()); // an empty range: no candidate
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
                let sum = part.get("sum").and_then(Value::as_f64);
                let count = part.get("count").and_then(Value::as_u64).unwrap_or(0);
                if let Some(s) = sum {
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

    /// True when no more results will come.
    pub fn is_done(&self) -> bool {
        if self.remaining == Some(0) {
            return true;
        }
        match self.shape {
            Shape::Aggregate(_) => self.emitted,
            _ => self
                .done
                .iter()
                .zip(&self.buffers)
                .all(|(d, b)| *d && b.is_empty()),
        }
    }

    /// Producer `i` is replaced by `children` producers continuing where it stood. Its buffer
    /// is empty (a producer is only read again once drained, and only a read finds a split).
    pub fn split(&mut self, i: usize, children: usize) -> Result<(), String> {
        if i >= self.buffers.len() || children == 0 {
            return Err(format!("split of unknown producer {i}"));
        }
        if !self.buffers[i].is_empty() {
            return Err("split of a producer with buffered rows".into());
        }
        self.buffers.splice(i..=i, vec![VecDeque::new(); children]);
        self.done.splice(i..=i, vec![false; children]);
        Ok(())
    }

    /// What a continuation token must carry besides the producers' positions.
    pub fn resume_state(&self) -> Result<Value, String> {
        if self.distinct == Some(true) && !self.seen.is_empty() {
            return Err("an unordered DISTINCT query cannot be resumed from a token (its seen values are not bounded); keep the pager".into());
        }
        if matches!(self.shape, Shape::Aggregate(_)) && !self.emitted && self.partial.is_some() {
            return Err("an aggregate query cannot be resumed mid-way".into());
        }
        Ok(serde_json::json!({
            "skip": self.skip,
            "remaining": self.remaining,
            "last": self.last,
        }))
    }

    /// Applies a token's resumption state.
    pub fn resume(&mut self, state: &Value) {
        if let Some(s) = state.get("skip").and_then(Value::as_u64) {
            self.skip = s;
        }
        if let Some(r) = state.get("remaining") {
            self.remaining = r.as_u64();
        }
        // Older tokens of this version carried TOP's remainder as "top".
        if let Some(t) = state.get("top").and_then(Value::as_u64) {
            self.remaining = Some(t);
        }
        if let Some(l) = state.get("last").and_then(Value::as_str) {
            self.last = Some(l.to_string());
        }
    }
}

fn number(v: f64, integral: bool) -> Option<Value> {
    if integral && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        return Some(Value::from(v as i64));
    }
    serde_json::Number::from_f64(v).map(Value::Number)
}

fn order_keys(a: &[Option<Value>], b: &[Option<Value>], desc: &[bool]) -> std::cmp::Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let o = compare(x.as_ref(), y.as_ref());
        let o = if desc.get(i).copied().unwrap_or(false) {
            o.reverse()
        } else {
            o
        };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

fn parse_row(shape: &Shape, row: Value) -> Result<Row, String> {
    match shape {
        Shape::Parallel => Ok(Row {
            keys: Vec::new(),
            value: row,
        }),
        Shape::OrderBy(desc) => {
            let mut row = row;
            let items = match row.get_mut("orderByItems").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => return Err("ORDER BY row without an orderByItems array".into()),
            };
            if items.len() != desc.len() {
                return Err(format!(
                    "ORDER BY row has {} keys, the plan {}",
                    items.len(),
                    desc.len()
                ));
            }
            let keys = items
                .into_iter()
                .map(|mut i| i.get_mut("item").map(Value::take))
                .collect();
            let value = row
                .get_mut("payload")
                .map(Value::take)
                .unwrap_or(Value::Null);
            Ok(Row { keys, value })
        }
        Shape::Aggregate(_) => {
            // `SELECT VALUE [{"item": ...}]` returns the array itself as the row.
            let value = match row {
                Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
                Value::Array(_) => Value::Object(Default::default()),
                other => other,
            };
            Ok(Row {
                keys: Vec::new(),
                value,
            })
        }
    }
}

#[cfg(test)]
mod tests;
