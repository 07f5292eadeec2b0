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

mod fold;
mod mark;
use super::plan::PlanView;
use fold::Fold;
pub use mark::Mark;

/// Most distinct values remembered for an unordered DISTINCT. Precedent: the .NET SDK keeps
/// every hash (unbounded); a bound turns a runaway set into a named error instead of memory
/// exhaustion.
pub const MAX_DISTINCT_VALUES: usize = 100_000;

/// Most groups a GROUP BY may hold (every group is buffered until all ranges are drained).
/// Precedent: the same bound as DISTINCT; the SDKs keep every group (unbounded).
pub const MAX_GROUPS: usize = 100_000;

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
    /// GROUP BY and non-VALUE aggregates: rows `{groupByItems: [{item}], payload}` grouped by
    /// their items; each payload alias kept (`None`) or folded with its aggregate. `value`: the
    /// query selects one VALUE (the payload itself, first per group).
    GroupBy {
        /// Payload aliases and how each is combined.
        aliases: Vec<(String, Option<Aggregate>)>,
        /// `SELECT VALUE`.
        value: bool,
    },
}

/// One group of a GROUP BY: its first payload and the folds of its aggregate aliases.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    first: Value,
    folds: Vec<Fold>,
}

/// One buffered row: its ORDER BY keys (undefined = `None`), its `_rid` (ORDER BY rows carry
/// it), and what it yields.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    keys: Vec<Option<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rid: Option<String>,
    value: Value,
}

/// Which rows of a producer's page were already returned (by an earlier process, or before a
/// split): the first `n`, or, by value, those the mark covers.
#[derive(Debug, Clone)]
pub enum Returned {
    /// The first `n` rows.
    Count(u32),
    /// ORDER BY rows sorting before the mark, or equal to it and listed in it.
    Mark(Mark),
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
    /// The VALUE aggregate folded so far, and whether the result went out.
    fold: Fold,
    emitted: bool,
    /// GROUP BY: groups by canonical key, in the order first seen, and results not yet returned.
    groups: Vec<(String, Group)>,
    ready: VecDeque<Value>,
    /// Per producer: where ORDER BY stands in its current page, by value.
    #[serde(default)]
    marks: Vec<Option<Mark>>,
    /// Per producer: no row of its buffered page was returned yet.
    #[serde(default)]
    fresh: Vec<bool>,
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
            fold: Fold::default(),
            emitted: false,
            groups: Vec::new(),
            ready: VecDeque::new(),
            marks: vec![None; producers],
            fresh: vec![false; producers],
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

    /// A page of producer `i`'s rows, less those already `returned`; how many were dropped.
    pub fn push_page(
        &mut self,
        i: usize,
        rows: Vec<Value>,
        done: bool,
        returned: Returned,
    ) -> Result<u32, String> {
        let shape = self.shape.clone();
        let desc = match &shape {
            Shape::OrderBy(d) => d.clone(),
            _ => Vec::new(),
        };
        if i >= self.buffers.len() {
            return Err(format!("page for unknown producer {i}"));
        }
        self.marks.resize(self.buffers.len(), None);
        self.fresh.resize(self.buffers.len(), false);
        self.marks[i] = None;
        let mut dropped = 0u32;
        for row in rows {
            let row = parse_row(&shape, row)?;
            let drop = match &returned {
                Returned::Count(n) => dropped < *n,
                Returned::Mark(m) => match order_keys(&row.keys, &m.keys(), &desc) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Equal => m.returned(row.rid.as_deref()),
                    std::cmp::Ordering::Greater => false,
                },
            };
            if drop {
                dropped += 1;
                if matches!(shape, Shape::OrderBy(_)) {
                    Mark::note(&mut self.marks[i], &row.keys, row.rid.as_deref());
                }
                continue;
            }
            self.buffers[i].push_back(row);
        }
        if let (Returned::Mark(m), true) = (&returned, dropped > 0) {
            // The children of a split keep the parent's mark: it covers what they dropped.
            self.marks[i] = Some(m.clone());
        }
        self.fresh[i] = dropped == 0;
        self.done[i] = done;
        Ok(dropped)
    }

    /// Producer `i`'s ORDER BY mark in its current page (`None`: nothing returned from it).
    pub fn mark(&self, i: usize) -> Option<&Mark> {
        self.marks.get(i).and_then(Option::as_ref)
    }

    /// A parallel (range-order) merge returns a producer's page whole or not at all in one
    /// result page: `false` when the next page to start is larger than `room` and the result
    /// page already holds items. So a token never points inside a server page, and a range that
    /// split since resumes on its children from the server continuation alone.
    pub fn next_fits(&self, room: usize, page_empty: bool) -> bool {
        if page_empty || !matches!(self.shape, Shape::Parallel) {
            return true;
        }
        for i in 0..self.buffers.len() {
            if !self.buffers[i].is_empty() {
                if !self.fresh.get(i).copied().unwrap_or(false) {
                    return true;
                }
                let need = self.buffers[i].len().min(
                    self.remaining
                        .map_or(usize::MAX, |r| usize::try_from(r).unwrap_or(usize::MAX)),
                );
                return need <= room;
            }
            if !self.done[i] {
                return true;
            }
        }
        true
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
            if !self.next_fits(max - out.len(), out.is_empty()) {
                break;
            }
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
                        if let Some(f) = self.fresh.get_mut(i) {
                            *f = false;
                        }
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
                let Some(i) = best else {
                    return Ok(None);
                };
                let Some(row) = self.buffers[i].pop_front() else {
                    return Ok(None);
                };
                if let Some(m) = self.marks.get_mut(i) {
                    Mark::note(m, &row.keys, row.rid.as_deref());
                }
                Ok(Some((Some(i), row.value)))
            }
            Shape::Aggregate(kind) => {
                if self.emitted {
                    return Ok(None);
                }
                for i in 0..self.buffers.len() {
                    while let Some(row) = self.buffers[i].pop_front() {
                        self.fold.add(kind, &row.value)?;
                    }
                }
                if self.done.iter().any(|d| !d) {
                    return Ok(None);
                }
                self.emitted = true;
                // An undefined aggregate (AVG or MIN of nothing) yields no row, as the service.
                Ok(self.fold.result(kind).map(|v| (None, v)))
            }
            Shape::GroupBy { aliases, value } => {
                if let Some(v) = self.ready.pop_front() {
                    return Ok(Some((None, v)));
                }
                if self.emitted {
                    return Ok(None);
                }
                for i in 0..self.buffers.len() {
                    while let Some(row) = self.buffers[i].pop_front() {
                        self.group(&aliases, row)?;
                    }
                }
                if self.done.iter().any(|d| !d) {
                    return Ok(None);
                }
                // Every range is drained: the groups are final (GROUP BY does not stream).
                self.emitted = true;
                for (_, g) in std::mem::take(&mut self.groups) {
                    self.ready.push_back(finish_group(&aliases, value, g));
                }
                Ok(self.ready.pop_front().map(|v| (None, v)))
            }
        }
    }

    /// Adds one GROUP BY row to its group.
    fn group(&mut self, aliases: &[(String, Option<Aggregate>)], row: Row) -> Result<(), String> {
        // Undefined and null are different groups: each key is `[]` (undefined) or `[value]`.
        let key = canonical(&Value::Array(
            row.keys
                .into_iter()
                .map(|k| Value::Array(k.into_iter().collect()))
                .collect(),
        ));
        let pos = match self.groups.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                if self.groups.len() >= MAX_GROUPS {
                    return Err(format!("GROUP BY with more than {MAX_GROUPS} groups"));
                }
                self.groups.push((
                    key,
                    Group {
                        first: row.value.clone(),
                        folds: vec![Fold::default(); aliases.len()],
                    },
                ));
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[pos].1;
        for (i, (alias, agg)) in aliases.iter().enumerate() {
            if let (Some(kind), Some(part)) = (agg, row.value.get(alias)) {
                group.folds[i].add(*kind, part)?;
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
            Shape::GroupBy { .. } => self.emitted && self.ready.is_empty(),
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
        self.marks.resize(self.done.len() - children + 1, None);
        self.marks.splice(i..=i, vec![None; children]);
        self.fresh.resize(self.done.len() - children + 1, false);
        self.fresh.splice(i..=i, vec![false; children]);
        Ok(())
    }

    /// What a continuation token must carry besides the producers' positions.
    pub fn resume_state(&self) -> Result<Value, String> {
        if self.distinct == Some(true) && !self.seen.is_empty() {
            return Err("an unordered DISTINCT query cannot be resumed from a token (its seen values are not bounded); keep the pager".into());
        }
        let folding = match self.shape {
            Shape::Aggregate(_) => !self.emitted && self.fold.started(),
            Shape::GroupBy { .. } => !self.groups.is_empty() || !self.ready.is_empty(),
            _ => false,
        };
        if folding {
            return Err("an aggregate or GROUP BY query cannot be resumed from a token mid-way; keep the pager".into());
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
            rid: None,
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
            let rid = row.get("_rid").and_then(Value::as_str).map(str::to_owned);
            let value = row
                .get_mut("payload")
                .map(Value::take)
                .unwrap_or(Value::Null);
            Ok(Row { keys, rid, value })
        }
        Shape::GroupBy { .. } => {
            let mut row = row;
            let keys = match row.get_mut("groupByItems").map(Value::take) {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|mut i| i.get_mut("item").map(Value::take))
                    .collect(),
                // Non-VALUE aggregates without GROUP BY: one group.
                None => Vec::new(),
                Some(_) => return Err("groupByItems is not an array".into()),
            };
            let value = row
                .get_mut("payload")
                .map(Value::take)
                .unwrap_or(Value::Null);
            Ok(Row {
                keys,
                rid: None,
                value,
            })
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
                rid: None,
                value,
            })
        }
    }
}

#[cfg(test)]
mod tests;

/// A group's result: the payload (VALUE), or an object of its aliases, aggregates folded and
/// undefined ones left out.
fn finish_group(aliases: &[(String, Option<Aggregate>)], value: bool, g: Group) -> Value {
    if value && aliases.is_empty() {
        return g.first;
    }
    let mut out = serde_json::Map::new();
    for (i, (alias, agg)) in aliases.iter().enumerate() {
        let v = match agg {
            Some(kind) => g.folds.get(i).and_then(|f| f.result(*kind)),
            None => g.first.get(alias).cloned(),
        };
        if let Some(v) = v {
            out.insert(alias.clone(), v);
        }
    }
    if value {
        // `SELECT VALUE AGG(..) ... GROUP BY`: the single alias's value.
        return out
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null);
    }
    Value::Object(out)
}
