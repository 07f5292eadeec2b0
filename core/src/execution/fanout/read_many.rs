//! The ReadMany job: keys grouped by partition key range, one point read for a range holding
//! one key, one query per [`READ_MANY_KEYS_PER_QUERY`] keys otherwise (as .NET's
//! `ReadManyQueryHelper` does), results put back in the caller's order.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

use super::super::Failure;
use super::plan;
use crate::driver::Driver;
use crate::error::CosmosError;
use crate::many::READ_MANY_KEYS_PER_QUERY;
use crate::models::{
    ContainerReference, ItemReference, PartitionKey, PartitionKeyDefinition, PartitionKeyValue,
};
use crate::operation::options::QueryRole;
use crate::operation::{CosmosOperation, OperationOptions, QuerySpec};
use crate::partition::{effective_partition_key, RoutingMap};
use crate::response::CosmosResponse;

/// A range: its id and the ids of its parents (for session tokens across splits).
pub(crate) type RangeRef = (String, Vec<String>);

/// One request of a ReadMany.
#[derive(Debug)]
pub(crate) enum Work {
    /// A point read of distinct key `k`.
    Point(usize),
    /// A query for these distinct keys on one range, from this server continuation.
    Query {
        range: RangeRef,
        keys: Vec<usize>,
        continuation: Option<String>,
    },
}

/// A ReadMany in progress.
#[derive(Debug)]
pub(crate) struct ReadManyJob {
    container: ContainerReference,
    /// The distinct keys: id, partition key, and the key's header form (for matching rows).
    keys: Vec<(String, PartitionKey, String)>,
    /// Position in the caller's list -> distinct key.
    slots: Vec<usize>,
    found: Vec<Option<Value>>,
    queue: VecDeque<Work>,
    /// The container's key paths (rows are matched to keys by id and these values).
    paths: Vec<String>,
}

impl ReadManyJob {
    pub fn new(
        container: ContainerReference,
        body: &[u8],
        map: Option<&RoutingMap>,
        def: Option<&PartitionKeyDefinition>,
    ) -> Result<ReadManyJob, String> {
        let given = crate::many::operation::read_keys(body)?;
        let mut keys: Vec<(String, PartitionKey, String)> = Vec::with_capacity(given.len());
        let mut index: HashMap<(String, String), usize> = HashMap::with_capacity(given.len());
        let mut slots = Vec::with_capacity(given.len());
        for (id, pk) in given {
            let header = pk.to_header_value();
            let next = keys.len();
            let k = *index.entry((id.clone(), header.clone())).or_insert(next);
            if k == next {
                keys.push((id, pk, header));
            }
            slots.push(k);
        }
        let mut job = ReadManyJob {
            container,
            found: vec![None; keys.len()],
            keys,
            slots,
            queue: VecDeque::new(),
            paths: def.map(|d| d.paths.clone()).unwrap_or_default(),
        };
        let all: Vec<usize> = (0..job.keys.len()).collect();
        job.route(&all, map, def)?;
        Ok(job)
    }

    /// Queues the requests for distinct keys `keys` by the routing map. Without a map (routing
    /// metadata could not be read) every key gets a point read, which the gateway routes.
    fn route(
        &mut self,
        keys: &[usize],
        map: Option<&RoutingMap>,
        def: Option<&PartitionKeyDefinition>,
    ) -> Result<(), String> {
        let (Some(map), Some(def)) = (map, def) else {
            self.queue.extend(keys.iter().map(|&k| Work::Point(k)));
            return Ok(());
        };
        // Ranges in EPK order, so requests go out in a stable order.
        let mut groups: BTreeMap<String, (RangeRef, Vec<usize>)> = BTreeMap::new();
        for &k in keys {
            let (id, pk, _) = &self.keys[k];
            let epk = effective_partition_key(pk, def).map_err(|e| {
                format!(
                    "ReadMany key (id {id:?}, partition key {pk}) does not fit the container: {e}"
                )
            })?;
            let r = map.range_for(&epk);
            groups
                .entry(r.min_inclusive.clone())
                .or_insert_with(|| ((r.id.clone(), r.parents.clone()), Vec::new()))
                .1
                .push(k);
        }
        for (_, (range, group)) in groups {
            if let [only] = group.as_slice() {
                self.queue.push_back(Work::Point(*only));
                continue;
            }
            for chunk in group.chunks(READ_MANY_KEYS_PER_QUERY) {
                self.queue.push_back(Work::Query {
                    range: range.clone(),
                    keys: chunk.to_vec(),
                    continuation: None,
                });
            }
        }
        Ok(())
    }

    pub fn next_work(&mut self) -> Option<Work> {
        self.queue.pop_front()
    }

    pub fn is_done(&self) -> bool {
        self.queue.is_empty()
    }

    /// The child operation of `work`, its options, and the range it is pinned to.
    pub fn child(
        &self,
        work: &Work,
        mut opts: OperationOptions,
    ) -> Option<(CosmosOperation, OperationOptions, Option<RangeRef>)> {
        match work {
            Work::Point(k) => {
                let (id, pk, _) = self.keys.get(*k)?;
                let item = ItemReference::in_container(&self.container, id);
                let op = CosmosOperation::read(item).with_partition_key(pk.clone());
                Some((op, opts, None))
            }
            Work::Query {
                range,
                keys,
                continuation,
            } => {
                let spec = self.query(keys);
                let op = CosmosOperation::query(self.container.clone(), spec);
                opts.query_role = QueryRole::Range(range.0.clone());
                opts.continuation = continuation.clone();
                opts.max_item_count = u32::try_from(keys.len()).ok();
                Some((op, opts, Some(range.clone())))
            }
        }
    }

    /// `SELECT * FROM c WHERE (c.id = @i0 AND c["pk"] = @k0_0) OR …` for these keys.
    fn query(&self, keys: &[usize]) -> QuerySpec {
        let mut text = String::from("SELECT * FROM c WHERE ");
        let mut params: Vec<(String, Value)> = Vec::new();
        for (n, &k) in keys.iter().enumerate() {
            let Some((id, pk, _)) = self.keys.get(k) else {
                continue;
            };
            if n > 0 {
                text.push_str(" OR ");
            }
            text.push_str(&format!("(c.id = @i{n}"));
            params.push((format!("@i{n}"), Value::from(id.as_str())));
            for (p, (path, value)) in self.paths.iter().zip(pk.components()).enumerate() {
                let prop = sql_path(path);
                match value {
                    PartitionKeyValue::Undefined => {
                        text.push_str(&format!(" AND NOT IS_DEFINED({prop})"));
                    }
                    PartitionKeyValue::Null => text.push_str(&format!(" AND {prop} = null")),
                    v => {
                        text.push_str(&format!(" AND {prop} = @k{n}_{p}"));
                        params.push((format!("@k{n}_{p}"), component_json(v)));
                    }
                }
            }
            text.push(')');
        }
        let mut spec = QuerySpec::new(text);
        for (name, value) in params {
            spec = spec.with_parameter(name, value);
        }
        spec
    }

    /// Takes in a child's outcome. `Err(Ok(failure))` and `Err(Err(error))` end the ReadMany.
    pub(in crate::execution) fn take(
        &mut self,
        work: Work,
        outcome: Result<CosmosResponse, CosmosError>,
        d: &mut Driver,
        link: &str,
        splits: &mut u32,
    ) -> Result<(), Result<Failure, CosmosError>> {
        match (work, outcome) {
            (Work::Point(k), Ok(r)) => {
                let item: Value = serde_json::from_slice(r.response_bytes()).map_err(|e| {
                    Ok(Failure::Metadata(format!(
                        "a ReadMany point read returned no JSON item: {e}"
                    )))
                })?;
                if let Some(slot) = self.found.get_mut(k) {
                    *slot = Some(item);
                }
                Ok(())
            }
            // No such item: reported as missing, not as an error. Only a plain 404 means that:
            // 404/1002 (the replica has not caught up with the session token, PROTOCOL.md §4)
            // and 404/1003 (the container is gone) are errors, as the query path reports them.
            (Work::Point(_), Err(e))
                if e.status() == Some(404) && e.sub_status().unwrap_or(0) == 0 =>
            {
                Ok(())
            }
            (
                Work::Query {
                    range,
                    keys,
                    continuation: _,
                },
                Ok(r),
            ) => {
                let rows =
                    plan::page_rows(r.response_bytes()).map_err(|e| Ok(Failure::Metadata(e)))?;
                self.match_rows(&keys, rows);
                let next = r
                    .headers()
                    .continuation()
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned);
                if next.is_some() {
                    self.queue.push_front(Work::Query {
                        range,
                        keys,
                        continuation: next,
                    });
                }
                Ok(())
            }
            (Work::Query { keys, .. }, Err(e)) if super::gone(&e) => {
                // The range split: the child re-read the routing map; route its keys again.
                *splits += 1;
                if *splits > super::MAX_SPLITS_PER_PAGE {
                    return Err(Ok(Failure::Metadata(format!(
                        "more than {} partition splits during one ReadMany",
                        super::MAX_SPLITS_PER_PAGE
                    ))));
                }
                let entry = d.containers.get(link);
                let map = entry.and_then(|e| e.routing.clone());
                let def = entry.map(|e| e.partition_key.clone());
                self.route(&keys, map.as_ref(), def.as_ref())
                    .map_err(|e| Ok(Failure::Metadata(e)))
            }
            (_, Err(e)) => Err(Err(e)),
        }
    }

    /// Puts each row of a query page into the slot of the key it answers.
    fn match_rows(&mut self, keys: &[usize], rows: Vec<Value>) {
        let wanted: HashMap<(&str, &str), usize> = keys
            .iter()
            .filter_map(|&k| {
                let (id, _, header) = self.keys.get(k)?;
                Some(((id.as_str(), header.as_str()), k))
            })
            .collect();
        let mut hits = Vec::new();
        for row in rows {
            let Some(id) = row.get("id").and_then(Value::as_str) else {
                continue;
            };
            let Some(header) = row_key(&row, &self.paths) else {
                continue;
            };
            if let Some(&k) = wanted.get(&(id, header.as_str())) {
                hits.push((k, row));
            }
        }
        for (k, row) in hits {
            if let Some(slot) = self.found.get_mut(k) {
                *slot = Some(row);
            }
        }
    }

    /// The response body: `{"Documents": [item or null per key, in the caller's order]}`.
    pub fn body(&mut self) -> (Vec<u8>, usize) {
        let docs: Vec<Value> = self
            .slots
            .iter()
            .map(|&k| self.found.get(k).cloned().flatten().unwrap_or(Value::Null))
            .collect();
        let count = docs.iter().filter(|d| !d.is_null()).count();
        let body = serde_json::json!({ "Documents": docs, "_count": count });
        (serde_json::to_vec(&body).unwrap_or_default(), count)
    }
}

/// `/a/b` as `c["a"]["b"]` (segments JSON-quoted, so any property name is safe).
fn sql_path(path: &str) -> String {
    let mut out = String::from("c");
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let seg = seg
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(seg);
        out.push('[');
        out.push_str(&Value::from(seg).to_string());
        out.push(']');
    }
    out
}

fn component_json(v: &PartitionKeyValue) -> Value {
    match v {
        PartitionKeyValue::String(s) => Value::from(s.as_str()),
        PartitionKeyValue::Number(n) => Value::from(*n),
        PartitionKeyValue::Bool(b) => Value::from(*b),
        _ => Value::Null,
    }
}

/// The header form of a row's partition key, read at the container's key paths.
fn row_key(row: &Value, paths: &[String]) -> Option<String> {
    let def = PartitionKeyDefinition {
        paths: paths.to_vec(),
        ..PartitionKeyDefinition::hash("/")
    };
    crate::backup::partition_key_of(row, &def).map(|k| k.to_header_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_and_rows_keyed_like_the_caller_keys() {
        assert_eq!(sql_path("/a/b"), r#"c["a"]["b"]"#);
        assert_eq!(sql_path(r#"/"x y""#), r#"c["x y"]"#);
        let row = serde_json::json!({"id": "1", "t": {"n": 5.0}, "s": null});
        let paths = vec!["/t/n".to_string(), "/s".to_string(), "/missing".to_string()];
        let key = PartitionKey::hierarchical([
            PartitionKeyValue::Number(5.0),
            PartitionKeyValue::Null,
            PartitionKeyValue::Undefined,
        ])
        .unwrap();
        assert_eq!(row_key(&row, &paths), Some(key.to_header_value()));
        assert_eq!(
            row_key(&serde_json::json!({"t": [1]}), &["/t".into()]),
            None
        );
    }
}
