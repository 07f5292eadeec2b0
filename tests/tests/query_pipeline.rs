//! The merge stages of a cross-partition query on the simulator, against a model (collect
//! every item, then apply the clause): ORDER BY (multi-key, ASC/DESC, mixed types, ties,
//! undefined), DISTINCT (ordered and unordered), OFFSET/LIMIT, TOP and VALUE aggregates, for
//! several page sizes, with a kept pager and resumed from every token on a fresh driver.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};
use sextant_core::models::ContainerReference;
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, OutgoingRequest, QueryPage, QueryPager,
    QuerySpec,
};
use sextant_tests::sim::{Answer, Sim};

/// An independent model of Cosmos order (undefined < null < false < true < numbers < strings).
fn rank(v: &Option<Value>) -> u8 {
    match v {
        None => 0,
        Some(Value::Null) => 1,
        Some(Value::Bool(false)) => 2,
        Some(Value::Bool(true)) => 3,
        Some(Value::Number(_)) => 4,
        Some(Value::String(_)) => 5,
        _ => 6,
    }
}

fn model_cmp(a: &Option<Value>, b: &Option<Value>) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap()
            .partial_cmp(&y.as_f64().unwrap())
            .unwrap(),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => Ordering::Equal,
    })
}

/// Items per range: `{"id", "k", "j"}`; `k` may be missing, null, a bool, a number or a string.
fn dataset(ranges: usize, per: usize) -> Vec<Vec<Value>> {
    let ks = [
        json!(3),
        json!("b"),
        json!(null),
        json!(1.5),
        json!(true),
        json!("a"),
        json!(3),
        json!(false),
    ];
    (0..ranges)
        .map(|r| {
            (0..per)
                .map(|i| {
                    let n = r * 7 + i * 3;
                    let mut doc = json!({"id": format!("r{r}-{i}"), "j": (n % 4) as i64});
                    if n % 9 != 0 {
                        doc["k"] = ks[n % ks.len()].clone();
                    }
                    doc
                })
                .collect()
        })
        .collect()
}

/// What a range returns for the query shape: ORDER BY rows sorted by (k, j) with directions,
/// or aggregate partials, or plain documents.
#[derive(Clone)]
enum Query {
    OrderBy {
        desc_k: bool,
        desc_j: bool,
    },
    Aggregate(&'static str),
    /// `SELECT c.j, COUNT(1) AS n, AVG(c.k) AS a FROM c GROUP BY c.j`
    GroupBy,
    Plain,
}

struct World {
    data: Vec<Vec<Value>>,
    query: Query,
    plan: Value,
}

fn header<'a>(req: &'a OutgoingRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn keys(doc: &Value) -> (Option<Value>, Option<Value>) {
    (doc.get("k").cloned(), doc.get("j").cloned())
}

fn order(q: &Query, a: &Value, b: &Value) -> Ordering {
    let Query::OrderBy { desc_k, desc_j } = q else {
        return Ordering::Equal;
    };
    let (ka, ja) = keys(a);
    let (kb, jb) = keys(b);
    let o = model_cmp(&ka, &kb);
    let o = if *desc_k { o.reverse() } else { o };
    o.then_with(|| {
        let o = model_cmp(&ja, &jb);
        if *desc_j {
            o.reverse()
        } else {
            o
        }
    })
}

impl World {
    fn rows(&self, range: usize) -> Vec<Value> {
        let mut docs = self.data[range].clone();
        match &self.query {
            Query::Plain => docs,
            Query::OrderBy { .. } => {
                docs.sort_by(|a, b| order(&self.query, a, b));
                docs.into_iter()
                    .map(|d| {
                        let (k, j) = keys(&d);
                        let item = |v: Option<Value>| match v {
                            Some(v) => json!({"item": v}),
                            None => json!({}),
                        };
                        json!({"_rid": d["id"], "orderByItems": [item(k), item(j)], "payload": d})
                    })
                    .collect()
            }
            Query::GroupBy => {
                // Per range: one row per j, with partial COUNT and AVG (sum/count of numeric k).
                let mut js: Vec<i64> = docs.iter().map(|d| d["j"].as_i64().unwrap()).collect();
                js.sort();
                js.dedup();
                js.into_iter()
                    .map(|j| {
                        let group: Vec<&Value> = docs.iter().filter(|d| d["j"] == json!(j)).collect();
                        let nums: Vec<f64> = group.iter().filter_map(|d| d["k"].as_f64()).collect();
                        json!({
                            "groupByItems": [{"item": j}],
                            "payload": {
                                "j": j,
                                "n": {"item": group.len()},
                                "a": {"item": {"sum": nums.iter().sum::<f64>(), "count": nums.len()}}
                            }
                        })
                    })
                    .collect()
            }
            Query::Aggregate(kind) => {
                let nums: Vec<f64> = docs.iter().filter_map(|d| d["k"].as_f64()).collect();
                let item = match *kind {
                    "Count" => json!({"item": docs.len()}),
                    "Sum" => json!({"item": nums.iter().sum::<f64>()}),
                    "Average" => {
                        json!({"item": {"sum": nums.iter().sum::<f64>(), "count": nums.len()}})
                    }
                    "Max" => match nums
                        .iter()
                        .cloned()
                        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
                    {
                        Some(m) => json!({"item": m, "item2": {"max": m, "count": nums.len()}}),
                        None => json!({"item2": {"count": 0}}),
                    },
                    _ => unreachable!(),
                };
                vec![json!([item])]
            }
        }
    }

    fn serve(&self, req: &OutgoingRequest) -> Answer {
        if header(req, "x-ms-cosmos-is-query-plan-request") == Some("True") {
            return full(vec![], self.plan.to_string());
        }
        let range: usize = header(req, "x-ms-documentdb-partitionkeyrangeid")
            .unwrap()
            .parse()
            .unwrap();
        let max: usize = header(req, "x-ms-max-item-count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        let start: usize = header(req, "x-ms-continuation")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let rows = self.rows(range);
        let end = (start + max).min(rows.len());
        let mut headers = vec![("x-ms-request-charge", "1".to_string())];
        if end < rows.len() {
            headers.push(("x-ms-continuation", end.to_string()));
        }
        full(
            headers,
            json!({"Documents": rows[start..end], "_count": end - start}).to_string(),
        )
    }
}

fn full(headers: Vec<(&'static str, String)>, body: String) -> Answer {
    Answer::Full {
        status: 200,
        headers,
        body,
        latency: Duration::from_millis(2),
    }
}

const RANGES: &str = r#"{"PartitionKeyRanges":[{"id":"0","minInclusive":"","maxExclusive":"55","parents":[]},{"id":"1","minInclusive":"55","maxExclusive":"AA","parents":[]},{"id":"2","minInclusive":"AA","maxExclusive":"FF","parents":[]}]}"#;

fn sim(seed: u64) -> Sim {
    let mut s = Sim::new(seed, DriverOptions::default());
    s.pk_ranges_script = Some(Box::new(|_, _| {
        full(vec![("etag", "\"1\"".into())], RANGES.into())
    }));
    s
}

fn plan_for(info: Value) -> Value {
    let mut qi =
        json!({"distinctType": "None", "orderBy": [], "rewrittenQuery": "", "hasSelectValue": 0});
    for (k, v) in info.as_object().unwrap() {
        qi[k] = v.clone();
    }
    json!({"partitionedQueryExecutionInfoVersion": 2, "queryInfo": qi,
           "queryRanges": [{"min": "", "max": "FF", "isMinInclusive": true, "isMaxInclusive": false}]})
}

fn run_all(world: &Rc<RefCell<World>>, size: u32, by_token: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut seed = 100;
    let mut s = sim(seed);
    let container = ContainerReference::from_name(s.account.clone(), "db", "c");
    let op = CosmosOperation::query(container, QuerySpec::new("SELECT ..."));
    let mut pager = QueryPager::new(
        op.clone(),
        OperationOptions::new().with_max_item_count(size),
    )
    .unwrap();
    for _ in 0..10_000 {
        if by_token {
            seed += 1;
            s = sim(seed);
            let mut o = OperationOptions::new().with_max_item_count(size);
            if let Some(t) = &token {
                o = o.with_continuation(t.clone());
            }
            pager = QueryPager::new(op.clone(), o).unwrap();
        }
        let Some(mut exec) = pager.start_page(&mut s.driver, s.now) else {
            break;
        };
        let w = world.clone();
        let outcome = s.drive(&mut exec, &mut |_, req| w.borrow().serve(req));
        let page: QueryPage = pager
            .finish_page(&mut exec, outcome)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(page.items().len() <= size as usize);
        out.extend(page.items().iter().cloned());
        token = page.continuation().map(str::to_owned);
        if by_token && token.is_none() {
            break;
        }
    }
    out
}

fn all_docs(world: &Rc<RefCell<World>>) -> Vec<Value> {
    world.borrow().data.iter().flatten().cloned().collect()
}

fn world(query: Query, info: Value) -> Rc<RefCell<World>> {
    Rc::new(RefCell::new(World {
        data: dataset(3, 9),
        query,
        plan: plan_for(info),
    }))
}

#[test]
fn order_by_two_keys_in_every_direction_matches_the_model() {
    for (desc_k, desc_j) in [(false, false), (true, false), (false, true), (true, true)] {
        let dirs = |d: bool| if d { "Descending" } else { "Ascending" };
        let q = Query::OrderBy { desc_k, desc_j };
        let w = world(
            q.clone(),
            json!({"orderBy": [dirs(desc_k), dirs(desc_j)], "orderByExpressions": ["c.k", "c.j"]}),
        );
        // Model: every document, sorted stably (ties keep range order, then server order).
        let mut model = Vec::new();
        for r in 0..3 {
            model.extend(w.borrow().rows_plain_sorted(r));
        }
        model.sort_by(|a, b| order(&q, a, b));
        for size in [1, 4, 100] {
            for by_token in [false, true] {
                let got = run_all(&w, size, by_token);
                let ids = |v: &[Value]| v.iter().map(|d| d["id"].clone()).collect::<Vec<_>>();
                assert_eq!(
                    ids(&got),
                    ids(&model),
                    "k {desc_k} j {desc_j} size {size} token {by_token}"
                );
            }
        }
    }
}

impl World {
    fn rows_plain_sorted(&self, range: usize) -> Vec<Value> {
        let mut docs = self.data[range].clone();
        docs.sort_by(|a, b| order(&self.query, a, b));
        docs
    }
}

#[test]
fn offset_limit_and_top_apply_after_the_merge() {
    let q = Query::OrderBy {
        desc_k: false,
        desc_j: false,
    };
    let w = world(
        q.clone(),
        json!({"orderBy": ["Ascending", "Ascending"], "orderByExpressions": ["c.k", "c.j"], "offset": 5, "limit": 7}),
    );
    let mut model: Vec<Value> = all_docs(&w);
    model.sort_by(|a, b| order(&q, a, b));
    let model: Vec<Value> = model.into_iter().skip(5).take(7).collect();
    for size in [1, 3, 50] {
        for by_token in [false, true] {
            let got = run_all(&w, size, by_token);
            assert_eq!(
                got.iter().map(|d| &d["id"]).collect::<Vec<_>>(),
                model.iter().map(|d| &d["id"]).collect::<Vec<_>>(),
                "size {size} token {by_token}"
            );
        }
    }
    let w = world(Query::Plain, json!({"top": 4}));
    assert_eq!(run_all(&w, 3, true).len(), 4);
}

#[test]
fn distinct_ordered_and_unordered() {
    // Ordered DISTINCT over ORDER BY c.j: the payload is the j value (SELECT DISTINCT VALUE c.j).
    let q = Query::OrderBy {
        desc_k: false,
        desc_j: false,
    };
    let w = world(
        q,
        json!({"orderBy": ["Ascending", "Ascending"], "orderByExpressions": ["c.k", "c.j"], "distinctType": "Ordered"}),
    );
    let got = run_all(&w, 2, true);
    let mut ids: Vec<_> = got.iter().map(|d| d["id"].clone()).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(
        ids.len(),
        n,
        "ordered DISTINCT drops consecutive duplicates"
    );
    // Unordered DISTINCT over plain rows where every range repeats the same values.
    let mut w = World {
        data: vec![
            vec![json!(1), json!(2)],
            vec![json!(2), json!(3)],
            vec![json!(1.0), json!(4)],
        ],
        query: Query::Plain,
        plan: plan_for(json!({"distinctType": "Unordered"})),
    };
    w.data[0].push(json!({"b": 1, "a": 2}));
    w.data[1].push(json!({"a": 2, "b": 1}));
    let w = Rc::new(RefCell::new(w));
    let got = run_all(&w, 100, false);
    assert_eq!(
        got,
        vec![
            json!(1),
            json!(2),
            json!({"a": 2, "b": 1}),
            json!(3),
            json!(4)
        ]
    );
}

#[test]
fn value_aggregates_fold_across_ranges() {
    let expected = |w: &Rc<RefCell<World>>, kind: &str| -> Option<Value> {
        let docs = all_docs(w);
        let nums: Vec<f64> = docs.iter().filter_map(|d| d["k"].as_f64()).collect();
        match kind {
            "Count" => Some(json!(docs.len())),
            "Sum" => Some(json!(nums.iter().sum::<f64>())),
            "Average" => Some(json!(nums.iter().sum::<f64>() / nums.len() as f64)),
            "Max" => nums
                .iter()
                .cloned()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
                .map(|m| json!(m)),
            _ => None,
        }
    };
    for kind in ["Count", "Sum", "Average", "Max"] {
        let w = world(
            Query::Aggregate(kind),
            json!({"aggregates": [kind], "hasSelectValue": 1}),
        );
        let got = run_all(&w, 10, false);
        let want = expected(&w, kind).unwrap();
        assert_eq!(got.len(), 1, "{kind}");
        assert_eq!(got[0].as_f64(), want.as_f64(), "{kind}: {got:?} vs {want}");
    }
    // AVG over nothing is undefined: no result at all.
    let w = Rc::new(RefCell::new(World {
        data: vec![vec![], vec![], vec![]],
        query: Query::Aggregate("Average"),
        plan: plan_for(json!({"aggregates": ["Average"], "hasSelectValue": 1})),
    }));
    assert!(run_all(&w, 10, false).is_empty());
}

#[test]
fn group_by_with_aggregates_folds_partials_across_ranges() {
    let w = world(
        Query::GroupBy,
        json!({
            "groupByExpressions": ["c.j"],
            "groupByAliases": ["j", "n", "a"],
            "groupByAliasToAggregateType": {"j": null, "n": "Count", "a": "Average"}
        }),
    );
    // Model: group every document by j.
    let docs = all_docs(&w);
    let mut js: Vec<i64> = docs.iter().map(|d| d["j"].as_i64().unwrap()).collect();
    js.sort();
    js.dedup();
    for size in [1, 100] {
        let mut got = run_all(&w, size, false);
        got.sort_by_key(|g| g["j"].as_i64());
        assert_eq!(got.len(), js.len(), "one result per group");
        for (g, j) in got.iter().zip(&js) {
            let group: Vec<&Value> = docs.iter().filter(|d| d["j"] == json!(j)).collect();
            let nums: Vec<f64> = group.iter().filter_map(|d| d["k"].as_f64()).collect();
            assert_eq!(g["j"], json!(j));
            assert_eq!(g["n"], json!(group.len()), "COUNT of group {j}");
            if nums.is_empty() {
                assert!(
                    g.get("a").is_none(),
                    "AVG of nothing is undefined and left out"
                );
            } else {
                let avg = nums.iter().sum::<f64>() / nums.len() as f64;
                assert!(
                    (g["a"].as_f64().unwrap() - avg).abs() < 1e-9,
                    "AVG of group {j}"
                );
            }
        }
    }
}
