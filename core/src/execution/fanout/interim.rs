//! The plan reader and the merge the fan-out uses today: plans without ORDER BY, aggregates,
//! GROUP BY, DISTINCT or OFFSET/LIMIT (a parallel query, optionally with TOP). The full merge
//! pipeline (`crate::query`) replaces this module; the supported-features header says exactly
//! what this one runs, so the gateway refuses a plan that needs more (PROTOCOL.md §7.2).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the plan request advertises (PROTOCOL.md §7.2): only what [`ParallelMerge`] runs.
pub const SUPPORTED_QUERY_FEATURES: &str = "Top";

/// Largest page of rows accepted from one range (the service caps pages by size; this bounds
/// memory if a server ignores `x-ms-max-item-count`).
pub const MAX_ROWS_PER_PAGE: usize = 10_000;

/// The placeholder the client replaces in ORDER BY rewrites (§7.4 row 1, §7.5).
const ORDER_BY_FILTER: &str = "{documentdb-formattableorderbyquery-filter}";

/// The parts of a query plan the fan-out needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    /// The query each range runs (the caller's text when the plan says `""`).
    pub rewritten: Option<String>,
    /// `[min, max)` EPK ranges the query touches, in the plan's order.
    pub ranges: Vec<(String, String)>,
    /// Stop after this many results.
    pub top: Option<u64>,
}

fn as_bool(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        _ => false,
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

/// Reads a plan response; an error names what this merge cannot run or what is malformed.
pub fn read_plan(body: &[u8]) -> Result<PlanView, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("query plan is not JSON: {e}"))?;
    let info = v.get("queryInfo").cloned().unwrap_or(Value::Null);
    let unsupported = [
        ("orderBy", "ORDER BY"),
        ("aggregates", "aggregates"),
        ("groupByExpressions", "GROUP BY"),
        ("groupByAliasToAggregateType", "non-VALUE aggregates"),
        ("offset", "OFFSET"),
        ("limit", "LIMIT"),
        ("dCountInfo", "DCOUNT"),
    ];
    for (field, what) in unsupported {
        if non_empty(info.get(field)) {
            return Err(format!(
                "the query needs {what}, which this client does not run yet"
            ));
        }
    }
    match info.get("distinctType").and_then(Value::as_str) {
        None | Some("None") => {}
        Some(_) => {
            return Err("the query needs DISTINCT, which this client does not run yet".into())
        }
    }
    if as_bool(info.get("hasNonStreamingOrderBy")) {
        return Err("the query needs a non-streaming ORDER BY (vector search)".into());
    }
    let top = match info.get("top") {
        None | Some(Value::Null) => None,
        Some(t) => Some(
            t.as_u64()
                .ok_or_else(|| format!("query plan: queryInfo.top is not a count: {t}"))?,
        ),
    };
    let rewritten = info
        .get("rewrittenQuery")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace(ORDER_BY_FILTER, "true"));
    let mut ranges = Vec::new();
    for r in v
        .get("queryRanges")
        .and_then(Value::as_array)
        .ok_or("query plan has no queryRanges array")?
    {
        let min = r
            .get("min")
            .and_then(Value::as_str)
            .ok_or("query range without min")?;
        let max = r
            .get("max")
            .and_then(Value::as_str)
            .ok_or("query range without max")?;
        let min_inclusive = r.get("isMinInclusive").is_none() || as_bool(r.get("isMinInclusive"));
        let max_inclusive = as_bool(r.get("isMaxInclusive"));
        // A point range [k, k] is the one EPK k; as a half-open range it is [k, k + "00").
        let max = if max_inclusive {
            format!("{max}00")
        } else {
            max.to_string()
        };
        if !min_inclusive {
            return Err("query plan: exclusive range minimums are not supported".into());
        }
        ranges.push((min.to_string(), max));
    }
    if ranges.len() > 10_000 {
        return Err(format!("query plan has {} ranges", ranges.len()));
    }
    Ok(PlanView {
        rewritten,
        ranges,
        top,
    })
}

/// The rows of a per-range page body (`{"Documents": [...]}`), bounded.
pub fn page_rows(body: &[u8]) -> Result<Vec<Value>, String> {
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| format!("query page is not JSON: {e}"))?;
    match v.get_mut("Documents").map(Value::take) {
        Some(Value::Array(rows)) if rows.len() <= MAX_ROWS_PER_PAGE => Ok(rows),
        Some(Value::Array(rows)) => Err(format!(
            "a range returned {} rows in one page (limit {MAX_ROWS_PER_PAGE})",
            rows.len()
        )),
        _ => Err("query page has no \"Documents\" array".into()),
    }
}

/// Producers drained in EPK order, reading ahead on the others; TOP caps the output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ParallelMerge {
    buffers: Vec<VecDeque<Value>>,
    done: Vec<bool>,
    remaining: Option<u64>,
}

impl ParallelMerge {
    pub fn new(producers: usize, top: Option<u64>) -> ParallelMerge {
        ParallelMerge {
            buffers: vec![VecDeque::new(); producers],
            done: vec![false; producers],
            remaining: top,
        }
    }

    /// Producers with nothing buffered that still have pages.
    pub fn wanted(&self) -> Vec<usize> {
        if self.is_done() {
            return Vec::new();
        }
        (0..self.buffers.len())
            .filter(|&i| !self.done[i] && self.buffers[i].is_empty())
            .collect()
    }

    pub fn push_page(&mut self, producer: usize, rows: Vec<Value>, done: bool) {
        if let (Some(b), Some(d)) = (self.buffers.get_mut(producer), self.done.get_mut(producer)) {
            b.extend(rows);
            *d = done;
        }
    }

    /// Up to `max` items in order; each with the producer it came from.
    pub fn pop(&mut self, max: usize) -> Vec<(usize, Value)> {
        let mut out = Vec::new();
        for i in 0..self.buffers.len() {
            while out.len() < max && self.remaining != Some(0) {
                match self.buffers[i].pop_front() {
                    Some(v) => {
                        out.push((i, v));
                        if let Some(r) = self.remaining.as_mut() {
                            *r -= 1;
                        }
                    }
                    None => break,
                }
            }
            // Later producers wait until this one is exhausted: order is by range.
            if !(self.done[i] && self.buffers[i].is_empty()) {
                break;
            }
        }
        out
    }

    pub fn is_done(&self) -> bool {
        self.remaining == Some(0)
            || self
                .done
                .iter()
                .zip(&self.buffers)
                .all(|(d, b)| *d && b.is_empty())
    }

    /// Producer `i` is replaced by `children` producers, each continuing where it stood; rows
    /// already buffered from it come first.
    pub fn split(&mut self, producer: usize, children: usize) {
        if producer >= self.buffers.len() || children == 0 {
            return;
        }
        let buffered = std::mem::take(&mut self.buffers[producer]);
        let mut new_buffers = vec![VecDeque::new(); children];
        new_buffers[0] = buffered;
        self.buffers.splice(producer..=producer, new_buffers);
        self.done.splice(producer..=producer, vec![false; children]);
    }

    /// Rows buffered from producer `i`.
    pub fn buffered(&self, producer: usize) -> usize {
        self.buffers.get(producer).map_or(0, VecDeque::len)
    }

    /// What TOP still allows (for the token).
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_plans_are_read_and_others_refused_by_name() {
        let plan = br#"{"partitionedQueryExecutionInfoVersion":2,"queryInfo":{"distinctType":"None","top":5,"orderBy":[],"rewrittenQuery":"","hasSelectValue":0},"queryRanges":[{"min":"","max":"FF","isMinInclusive":true,"isMaxInclusive":false}]}"#;
        let p = read_plan(plan).unwrap();
        assert_eq!(p.top, Some(5));
        assert_eq!(p.ranges, vec![(String::new(), "FF".into())]);
        assert_eq!(p.rewritten, None);
        let ordered = br#"{"queryInfo":{"orderBy":["Ascending"]},"queryRanges":[]}"#;
        assert!(read_plan(ordered).unwrap_err().contains("ORDER BY"));
        let distinct = br#"{"queryInfo":{"distinctType":"Unordered"},"queryRanges":[]}"#;
        assert!(read_plan(distinct).unwrap_err().contains("DISTINCT"));
    }

    #[test]
    fn parallel_merge_keeps_range_order_and_top() {
        let mut m = ParallelMerge::new(2, Some(3));
        assert_eq!(m.wanted(), vec![0, 1]);
        m.push_page(1, vec![json!(10), json!(11)], true);
        assert!(m.pop(10).is_empty(), "range 1 waits for range 0");
        m.push_page(0, vec![json!(0)], false);
        assert_eq!(m.pop(10), vec![(0, json!(0))]);
        m.push_page(0, vec![json!(1)], true);
        let rest: Vec<Value> = m.pop(10).into_iter().map(|(_, v)| v).collect();
        assert_eq!(rest, vec![json!(1), json!(10)], "TOP 3 stops the merge");
        assert!(m.is_done());
    }

    #[test]
    fn a_split_keeps_buffered_rows_first() {
        let mut m = ParallelMerge::new(1, None);
        m.push_page(0, vec![json!(1)], false);
        m.split(0, 2);
        assert_eq!(m.wanted(), vec![1]);
        m.push_page(1, vec![json!(3)], true);
        assert_eq!(m.pop(1), vec![(0, json!(1))]);
        assert_eq!(m.wanted(), vec![0]);
    }
}
