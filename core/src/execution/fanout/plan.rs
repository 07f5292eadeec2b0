//! Reading the gateway's query plan (PROTOCOL.md §7.3, §7.4) into what the fan-out needs: the
//! query each range runs, the ranges it touches, and the merge's shape. The supported-features
//! header says exactly what the merge runs, so the gateway refuses a plan that needs more.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merge::{Aggregate, Shape};

/// What the plan request advertises (PROTOCOL.md §7.2): only what the merge runs. No multiple
/// VALUE aggregates, DCOUNT or non-streaming (vector) ORDER BY yet.
pub const SUPPORTED_QUERY_FEATURES: &str = "Aggregate,CompositeAggregate,Distinct,GroupBy,\
MultipleOrderBy,NonValueAggregate,OffsetAndLimit,OrderBy,Top";

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
    /// OFFSET: results skipped first.
    pub offset: Option<u64>,
    /// LIMIT: results after the offset.
    pub limit: Option<u64>,
    /// DISTINCT: `Some(false)` ordered, `Some(true)` unordered.
    pub distinct: Option<bool>,
    /// How rows become results.
    pub shape: Shape,
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
    let unsupported = [("dCountInfo", "DCOUNT")];
    for (field, what) in unsupported {
        if non_empty(info.get(field)) {
            return Err(format!(
                "the query needs {what}, which this client does not run yet"
            ));
        }
    }
    let distinct = match info.get("distinctType").and_then(Value::as_str) {
        None | Some("None") => None,
        Some("Ordered") => Some(false),
        Some("Unordered") => Some(true),
        Some(other) => return Err(format!("query plan: unknown distinctType {other:?}")),
    };
    if as_bool(info.get("hasNonStreamingOrderBy")) {
        return Err("the query needs a non-streaming ORDER BY (vector search)".into());
    }
    let count = |field: &str| -> Result<Option<u64>, String> {
        match info.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(t) => t
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("query plan: queryInfo.{field} is not a count: {t}")),
        }
    };
    let (top, offset, limit) = (count("top")?, count("offset")?, count("limit")?);
    let order: Vec<bool> = match info.get("orderBy") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|d| match d.as_str() {
                Some("Ascending") => Ok(false),
                Some("Descending") => Ok(true),
                _ => Err(format!("query plan: unknown ORDER BY direction {d}")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("query plan: orderBy is not a list: {other}")),
    };
    let aggregates: Vec<&str> = info
        .get("aggregates")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let grouped = non_empty(info.get("groupByExpressions"))
        || non_empty(info.get("groupByAliasToAggregateType"));
    let shape =
        if grouped {
            if !order.is_empty() {
                return Err(
                    "the query combines GROUP BY and ORDER BY, which this client does not run yet"
                        .into(),
                );
            }
            Shape::GroupBy {
                aliases: group_aliases(&info)?,
                value: as_bool(info.get("hasSelectValue")),
            }
        } else {
            match (order.is_empty(), aggregates.as_slice()) {
                (true, []) => Shape::Parallel,
                (false, []) => Shape::OrderBy(order),
                (true, [one]) if as_bool(info.get("hasSelectValue")) => {
                    Shape::Aggregate(aggregate(one)?)
                }
                _ => return Err(
                    "the query needs several VALUE aggregates, which this client does not run yet"
                        .into(),
                ),
            }
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
        offset,
        limit,
        distinct,
        shape,
    })
}

/// The payload aliases of a GROUP BY plan in order, each with its aggregate (`None`: a grouped
/// value kept as is), from `groupByAliases` and `groupByAliasToAggregateType`.
fn group_aliases(info: &Value) -> Result<Vec<(String, Option<Aggregate>)>, String> {
    let types = info
        .get("groupByAliasToAggregateType")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<String> = info
        .get("groupByAliases")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for k in types.keys() {
        if !names.contains(k) {
            names.push(k.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let agg = match types.get(&name).and_then(Value::as_str) {
                None => None,
                Some(t) => Some(aggregate(t)?),
            };
            Ok((name, agg))
        })
        .collect()
}

fn aggregate(name: &str) -> Result<Aggregate, String> {
    Ok(match name {
        "Count" => Aggregate::Count,
        "Sum" => Aggregate::Sum,
        "Min" => Aggregate::Min,
        "Max" => Aggregate::Max,
        "Average" => Aggregate::Average,
        other => {
            return Err(format!(
                "the query needs the {other} aggregate, which this client does not run yet"
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_plans_are_read_and_others_refused_by_name() {
        let plan = br#"{"partitionedQueryExecutionInfoVersion":2,"queryInfo":{"distinctType":"None","top":5,"orderBy":[],"rewrittenQuery":"","hasSelectValue":0},"queryRanges":[{"min":"","max":"FF","isMinInclusive":true,"isMaxInclusive":false}]}"#;
        let p = read_plan(plan).unwrap();
        assert_eq!(p.top, Some(5));
        assert_eq!(p.ranges, vec![(String::new(), "FF".into())]);
        assert_eq!(p.rewritten, None);
        let ordered = br#"{"queryInfo":{"orderBy":["Ascending","Descending"]},"queryRanges":[]}"#;
        assert!(
            matches!(read_plan(ordered).unwrap().shape, Shape::OrderBy(ref d) if d == &[false, true])
        );
        let avg =
            br#"{"queryInfo":{"aggregates":["Average"],"hasSelectValue":1},"queryRanges":[]}"#;
        assert!(matches!(
            read_plan(avg).unwrap().shape,
            Shape::Aggregate(Aggregate::Average)
        ));
        let group = br#"{"queryInfo":{"groupByExpressions":["c.a"],"groupByAliases":["a","n"],"groupByAliasToAggregateType":{"a":null,"n":"Count"}},"queryRanges":[]}"#;
        assert!(
            matches!(read_plan(group).unwrap().shape, Shape::GroupBy { ref aliases, value: false } if aliases.len() == 2 && aliases[1].1 == Some(Aggregate::Count))
        );
        let dcount = br#"{"queryInfo":{"dCountInfo":{"dCountAlias":"d"}},"queryRanges":[]}"#;
        assert!(read_plan(dcount).unwrap_err().contains("DCOUNT"));
    }
}
