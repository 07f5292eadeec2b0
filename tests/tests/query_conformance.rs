//! The differential query conformance suite (issue 11): one dataset loaded into a plain local
//! server (ground truth: it runs each whole query itself) and into the multi-partition test
//! gateway with 1, 3 and 8 ranges. Every query must give the same results through Sextant, on
//! every transport, for page sizes 1, 7 and 1000, read with one pager (state kept between pages)
//! and page by page from the continuation token alone on a second, fresh driver.
//!
//! Ground truth comes from the plain server over raw HTTP (not through Sextant). For constructs
//! the plain server cannot run (DISTINCT, OFFSET/LIMIT, GROUP BY; LOCAL_SERVER.md §1.2) the case
//! states its expected result: a simpler query the server runs plus the clause applied in the
//! test, or a model computed from the dataset.
//!
//! Comparison: in order where ORDER BY fixes the order (by the sort keys where ties leave the
//! order among equals to the merge), as multisets otherwise; numbers compare by value.

mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use sextant_core::models::{
    AccountReference, CompositeIndexOrder, ContainerProperties, ContainerReference,
    DatabaseReference, IndexingPolicy, PartitionKeyDefinition,
};
use sextant_core::{CosmosOperation, OperationOptions, QuerySpec};
use sextant_tests::gateway::TestGateway;
use sextant_tests::raw_http;
use sextant_tests::scenarios::{create_items, Client};
use sextant_tests::server::{TestServer, EMULATOR_KEY};
use support::query_clients::{QueryClient, Transport};

const DB: &str = "conformance";
const COLL: &str = "items";
const DOCS: usize = 36;
const CATS: [&str; 3] = ["a", "b", "c"];
const PAGE_SIZES: [u32; 3] = [1, 7, 1000];
const RANGES: [usize; 3] = [1, 3, 8];

/// How the expected result is obtained.
enum Truth {
    /// The plain server runs the same query.
    Same,
    /// The plain server runs this query; the test applies the clause it cannot run.
    Server(&'static str, fn(Vec<Value>) -> Vec<Value>),
    /// Computed from the dataset (GROUP BY).
    Model(fn(&[Value]) -> Vec<Value>),
}

/// How results are compared with the expected ones.
enum Cmp {
    /// Same sequence.
    Exact,
    /// Same multiset.
    Multiset,
    /// Same multiset, and the same sequence of these sort keys (ties in any order).
    SortedBy(&'static [&'static str]),
    /// This many results, each from the expected multiset (TOP/OFFSET without ORDER BY).
    Subset(usize),
}

struct Case {
    sql: &'static str,
    params: Vec<(&'static str, Value)>,
    truth: Truth,
    cmp: Cmp,
    /// The query gives a continuation token after every page (GROUP BY, aggregates and
    /// unordered DISTINCT cannot, like JS and .NET; the pager keeps their state).
    resumable: bool,
}

fn case(sql: &'static str, truth: Truth, cmp: Cmp) -> Case {
    Case {
        sql,
        params: Vec::new(),
        truth,
        cmp,
        resumable: true,
    }
}

impl Case {
    fn p(mut self, name: &'static str, value: Value) -> Case {
        self.params.push((name, value));
        self
    }
    fn unresumable(mut self) -> Case {
        self.resumable = false;
        self
    }
    fn spec(&self) -> QuerySpec {
        self.params
            .iter()
            .fold(QuerySpec::new(self.sql), |s, (n, v)| {
                s.with_parameter(*n, v.clone())
            })
    }
}

/// The dataset: ties, missing properties, mixed types, nested paths, floats with exact binary
/// values (sums do not depend on the order of addition), 9 partition keys.
fn dataset() -> Vec<Value> {
    (0..DOCS)
        .map(|i| {
            let mut d = json!({
                "id": format!("d{i:02}"),
                "pk": format!("p{}", i % 9),
                "n": i,
                "cat": CATS[i % 3],
                "price": ((i * 37) % 100) as f64 / 4.0,
                "nested": {"k": i % 5, "deep": {"x": format!("x{}", i % 4)}},
                "tags": [format!("t{}", i % 3), format!("t{}", i % 5)],
                "name": format!("item-{:02}", (i * 7) % DOCS),
                "flag": i % 2 == 0,
            });
            if i % 7 != 0 {
                d["v"] = json!(i % 4);
            }
            match i % 6 {
                0 => d["mixed"] = Value::Null,
                1 => d["mixed"] = json!(true),
                2 => d["mixed"] = json!(false),
                3 => d["mixed"] = json!(i),
                4 => d["mixed"] = json!(format!("s{i:02}")),
                _ => {} // undefined
            }
            d
        })
        .collect()
}

fn dedupe(rows: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    rows.into_iter()
        .filter(|r| seen.insert(canonical(r)))
        .collect()
}

/// GROUP BY model: groups of `docs` by `key` (in first-seen order), each turned into a result.
fn groups(
    docs: &[Value],
    key: impl Fn(&Value) -> Value,
    result: impl Fn(&Value, &[&Value]) -> Value,
) -> Vec<Value> {
    let mut order: Vec<(String, Value, Vec<&Value>)> = Vec::new();
    for d in docs {
        let k = key(d);
        let c = canonical(&k);
        match order.iter_mut().find(|(kc, _, _)| *kc == c) {
            Some(g) => g.2.push(d),
            None => order.push((c, k, vec![d])),
        }
    }
    order.iter().map(|(_, k, m)| result(k, m)).collect()
}

fn sum(m: &[&Value], field: &str) -> f64 {
    m.iter().filter_map(|d| d[field].as_f64()).sum()
}

fn cases() -> Vec<Case> {
    use Cmp::*;
    use Truth::*;
    vec![
        // Parallel (no ORDER BY): filters, parameters, nested paths, missing properties.
        case("SELECT * FROM c", Same, Multiset),
        case("SELECT c.id, c.n FROM c WHERE c.n > @min", Same, Multiset).p("@min", json!(10)),
        case("SELECT VALUE c.id FROM c WHERE c.cat = @cat", Same, Multiset).p("@cat", json!("b")),
        case("SELECT c.id FROM c WHERE c.nested.k = 2", Same, Multiset),
        case(
            "SELECT c.id, c.nested.deep.x AS x FROM c WHERE c.nested.deep.x IN ('x1', 'x3')",
            Same,
            Multiset,
        ),
        case("SELECT c.id FROM c WHERE NOT IS_DEFINED(c.v)", Same, Multiset),
        case("SELECT c.id, c.v FROM c WHERE c.v >= 2", Same, Multiset),
        case("SELECT VALUE c.mixed FROM c", Same, Multiset),
        case("SELECT c.id FROM c WHERE c.mixed = true", Same, Multiset),
        case("SELECT c.id FROM c WHERE c.n BETWEEN 5 AND 12", Same, Multiset),
        case("SELECT c.id FROM c WHERE c.n > 1000", Same, Multiset),
        case("SELECT c.id FROM c WHERE ARRAY_CONTAINS(@ids, c.id)", Same, Multiset)
            .p("@ids", json!(["d01", "d17", "d35", "nope"])),
        case(
            "SELECT c.id, t AS tag FROM c JOIN t IN c.tags WHERE t = 't1'",
            Same,
            Multiset,
        ),
        case(
            "SELECT VALUE {\"id\": c.id, \"double\": c.n * 2} FROM c WHERE c.flag",
            Same,
            Multiset,
        ),
        case("SELECT c.id FROM c WHERE STARTSWITH(c.name, 'item-1')", Same, Multiset),
        case(
            "SELECT c.id, UPPER(c.cat) AS cat FROM c WHERE c.price > @p",
            Same,
            Multiset,
        )
        .p("@p", json!(10.5)),
        case(
            "SELECT c[\"id\"], c[\"nested\"][\"k\"] FROM c WHERE c[\"nested\"][\"k\"] = 0",
            Same,
            Multiset,
        ),
        case("SELECT * FROM c WHERE c.pk = @pk", Same, Multiset).p("@pk", json!("p3")),
        case("SELECT c.id FROM c WHERE c.pk IN ('p1', 'p2')", Same, Multiset),
        case("SELECT VALUE ARRAY_LENGTH(c.tags) FROM c", Same, Multiset),
        case(
            "SELECT c.id FROM c WHERE EXISTS(SELECT VALUE t FROM t IN c.tags WHERE t = 't4')",
            Same,
            Multiset,
        ),
        case("select c.id from c where c.n < 3", Same, Multiset),
        case("SELECT r.id FROM root r WHERE r.n = 5", Same, Multiset),
        // ORDER BY: single and multi-key, ASC/DESC, ties, missing keys, mixed types.
        case("SELECT * FROM c ORDER BY c.n", Same, Exact),
        case("SELECT c.id, c.n FROM c ORDER BY c.n DESC", Same, Exact),
        case("SELECT c.id, c.cat FROM c ORDER BY c.cat", Same, SortedBy(&["/cat"])),
        case("SELECT VALUE c.name FROM c ORDER BY c.name DESC", Same, Exact),
        case(
            "SELECT c.id, c.price FROM c WHERE c.price > @p ORDER BY c.price",
            Same,
            Exact,
        )
        .p("@p", json!(3)),
        case("SELECT c.id, c.v FROM c ORDER BY c.v", Same, SortedBy(&["/v"])),
        case("SELECT c.id, c.mixed FROM c ORDER BY c.mixed", Same, SortedBy(&["/mixed"])),
        case(
            "SELECT c.id, c.mixed FROM c ORDER BY c.mixed DESC",
            Same,
            SortedBy(&["/mixed"]),
        ),
        case(
            "SELECT c.id, c.nested.k FROM c ORDER BY c.nested.k DESC",
            Same,
            SortedBy(&["/k"]),
        ),
        case("SELECT * FROM c ORDER BY c.cat, c.n DESC", Same, Exact),
        case("SELECT c.id FROM c ORDER BY c.cat DESC, c.n", Same, Exact),
        case("SELECT TOP 5 c.id, c.n FROM c ORDER BY c.n", Same, Exact),
        case("SELECT TOP @t * FROM c ORDER BY c.n DESC", Same, Exact).p("@t", json!(7)),
        case("SELECT TOP 3 c.cat FROM c ORDER BY c.cat", Same, Exact),
        case("SELECT c.id, c.n FROM c WHERE c.cat = 'a' ORDER BY c.n", Same, Exact),
        case("SELECT c.id FROM c WHERE c.n > 1000 ORDER BY c.n", Same, Exact),
        case("SELECT c.id, c.name FROM c WHERE c.flag ORDER BY c.name", Same, Exact),
        case(
            "SELECT c.id, t FROM c JOIN t IN c.tags ORDER BY c.n",
            Same,
            SortedBy(&["/id"]),
        ),
        case(
            "SELECT c.id, c.n FROM c ORDER BY c.n OFFSET 3 LIMIT 10",
            Server("SELECT c.id, c.n FROM c ORDER BY c.n", |r| {
                r.into_iter().skip(3).take(10).collect()
            }),
            Exact,
        ),
        case(
            "SELECT c.id, c.n FROM c ORDER BY c.n DESC OFFSET @o LIMIT @l",
            Server("SELECT c.id, c.n FROM c ORDER BY c.n DESC", |r| {
                r.into_iter().skip(30).take(10).collect()
            }),
            Exact,
        )
        .p("@o", json!(30))
        .p("@l", json!(10)),
        // DISTINCT: ordered (with ORDER BY) and unordered.
        case(
            "SELECT DISTINCT VALUE c.cat FROM c ORDER BY c.cat",
            Server("SELECT VALUE c.cat FROM c ORDER BY c.cat", dedupe),
            Exact,
        ),
        case(
            "SELECT DISTINCT VALUE c.v FROM c ORDER BY c.v DESC",
            Server("SELECT VALUE c.v FROM c ORDER BY c.v DESC", dedupe),
            Exact,
        ),
        case(
            "SELECT DISTINCT VALUE c.cat FROM c",
            Server("SELECT VALUE c.cat FROM c", dedupe),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT DISTINCT c.cat, c.flag FROM c",
            Server("SELECT c.cat, c.flag FROM c", dedupe),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT DISTINCT VALUE c.nested.k FROM c WHERE c.n > @m",
            Server("SELECT VALUE c.nested.k FROM c WHERE c.n > 20", dedupe),
            Multiset,
        )
        .p("@m", json!(20))
        .unresumable(),
        case(
            "SELECT DISTINCT VALUE c.mixed FROM c",
            Server("SELECT VALUE c.mixed FROM c", dedupe),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT DISTINCT TOP 2 VALUE c.cat FROM c",
            Server("SELECT VALUE c.cat FROM c", dedupe),
            Subset(2),
        )
        .unresumable(),
        // TOP / OFFSET-LIMIT without ORDER BY: any rows of the right number.
        case("SELECT TOP 5 * FROM c", Server("SELECT * FROM c", |r| r), Subset(5)),
        case(
            "SELECT * FROM c OFFSET 30 LIMIT 10",
            Server("SELECT * FROM c", |r| r),
            Subset(6),
        ),
        case(
            "SELECT c.id FROM c WHERE c.cat = 'c' OFFSET 2 LIMIT 3",
            Server("SELECT c.id FROM c WHERE c.cat = 'c'", |r| r),
            Subset(3),
        ),
        // VALUE aggregates, incl. empty sets and missing properties.
        case("SELECT VALUE COUNT(1) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE COUNT(1) FROM c WHERE c.n > 1000", Same, Exact).unresumable(),
        case("SELECT VALUE SUM(c.n) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE SUM(c.v) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE SUM(c.price) FROM c WHERE c.cat = @cat", Same, Exact)
            .p("@cat", json!("c"))
            .unresumable(),
        case("SELECT VALUE AVG(c.n) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE AVG(c.price) FROM c WHERE c.n > 1000", Same, Exact).unresumable(),
        case("SELECT VALUE MIN(c.n) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE MAX(c.name) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE MIN(c.v) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE MAX(c.n) FROM c WHERE c.n > 1000", Same, Exact).unresumable(),
        case("SELECT VALUE COUNT(c.v) FROM c", Same, Exact).unresumable(),
        // Undefined semantics: SUM and AVG over values with a non-number are undefined as a
        // whole, even when only some ranges saw one.
        case("SELECT VALUE SUM(c.mixed) FROM c", Same, Exact).unresumable(),
        case("SELECT VALUE AVG(c.mixed) FROM c", Same, Exact).unresumable(),
        case(
            "SELECT VALUE SUM(c.mixed) FROM c WHERE IS_NUMBER(c.mixed)",
            Same,
            Exact,
        )
        .unresumable(),
        case(
            "SELECT c.cat, SUM(c.mixed) AS s, COUNT(1) AS n FROM c GROUP BY c.cat",
            Model(|docs| {
                // Every category holds a non-number `mixed` (null, a boolean or a string), so each
                // group's SUM is undefined and left out.
                groups(docs, |d| d["cat"].clone(), |k, m| json!({"cat": k, "n": m.len()}))
            }),
            Multiset,
        )
        .unresumable(),
        case("SELECT VALUE COUNT(1) FROM c WHERE c.pk = 'p4'", Same, Exact).unresumable(),
        // Non-VALUE aggregates (the plain server runs these at the top level).
        case(
            "SELECT COUNT(1) AS cnt, SUM(c.n) AS s, MIN(c.n) AS mi, MAX(c.n) AS ma, AVG(c.n) AS a FROM c",
            Same,
            Exact,
        )
        .unresumable(),
        case(
            "SELECT COUNT(1) AS cnt, MAX(c.price) AS m FROM c WHERE c.cat = 'b'",
            Same,
            Exact,
        )
        .unresumable(),
        case(
            "SELECT COUNT(1) AS cnt, AVG(c.n) AS a FROM c WHERE c.n > 1000",
            Same,
            Exact,
        )
        .unresumable(),
        // GROUP BY (the plain server cannot run it: models from the dataset).
        case(
            "SELECT c.cat, COUNT(1) AS n FROM c GROUP BY c.cat",
            Model(|docs| {
                groups(docs, |d| d["cat"].clone(), |k, m| json!({"cat": k, "n": m.len()}))
            }),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.cat, SUM(c.n) AS s, MIN(c.price) AS lo, MAX(c.price) AS hi, AVG(c.n) AS a FROM c GROUP BY c.cat",
            Model(|docs| {
                groups(docs, |d| d["cat"].clone(), |k, m| {
                    let prices: Vec<f64> = m.iter().filter_map(|d| d["price"].as_f64()).collect();
                    json!({
                        "cat": k,
                        "s": sum(m, "n"),
                        "lo": prices.iter().cloned().fold(f64::INFINITY, f64::min),
                        "hi": prices.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                        "a": sum(m, "n") / m.len() as f64,
                    })
                })
            }),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT VALUE c.cat FROM c GROUP BY c.cat",
            Model(|docs| groups(docs, |d| d["cat"].clone(), |k, _| k.clone())),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.cat, c.flag, COUNT(1) AS n FROM c GROUP BY c.cat, c.flag",
            Model(|docs| {
                groups(
                    docs,
                    |d| json!([d["cat"], d["flag"]]),
                    |k, m| json!({"cat": k[0], "flag": k[1], "n": m.len()}),
                )
            }),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT VALUE COUNT(1) FROM c GROUP BY c.nested.k",
            Model(|docs| groups(docs, |d| d["nested"]["k"].clone(), |_, m| json!(m.len()))),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.v, COUNT(1) AS n FROM c GROUP BY c.v",
            Model(|docs| {
                groups(
                    docs,
                    |d| d.get("v").cloned().unwrap_or(json!("<undefined>")),
                    |k, m| match k.as_str() {
                        Some("<undefined>") => json!({"n": m.len()}),
                        _ => json!({"v": k, "n": m.len()}),
                    },
                )
            }),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.mixed, COUNT(1) AS n FROM c GROUP BY c.mixed",
            Model(|docs| {
                // null and undefined (a missing property) are different groups.
                groups(
                    docs,
                    |d| json!([d.get("mixed").cloned().map_or(vec![], |v| vec![v])]),
                    |k, m| match k[0].as_array().and_then(|a| a.first()) {
                        Some(v) => json!({"mixed": v, "n": m.len()}),
                        None => json!({"n": m.len()}),
                    },
                )
            }),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.cat, COUNT(1) AS n FROM c WHERE c.n > 1000 GROUP BY c.cat",
            Model(|_| Vec::new()),
            Multiset,
        )
        .unresumable(),
        case(
            "SELECT c.cat, COUNT(1) AS n FROM c GROUP BY c.cat OFFSET 1 LIMIT 1",
            Model(|docs| {
                groups(docs, |d| d["cat"].clone(), |k, m| json!({"cat": k, "n": m.len()}))
            }),
            Subset(1),
        )
        .unresumable(),
    ]
}

/// Canonical JSON text: sorted keys, numbers by value.
fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            format!("{f:?}")
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k:?}:{}", canonical(&o[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Drops the system properties a store adds (`_rid`, `_etag`, `_ts`, `_self`, ...): each
/// store assigns its own, so they differ between the plain server and the gateway's stores.
fn strip_system(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), strip_system(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn multiset(rows: &[Value]) -> Vec<String> {
    let mut m: Vec<String> = rows.iter().map(canonical).collect();
    m.sort();
    m
}

fn keys_of(rows: &[Value], pointers: &[&str]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            pointers
                .iter()
                .map(|p| {
                    r.pointer(p)
                        .map(canonical)
                        .unwrap_or_else(|| "undefined".into())
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn check(c: &Case, expected: &[Value], got: &[Value], ctx: &str) -> Result<(), String> {
    std::panic::catch_unwind(|| check_or_panic(c, expected, got, ctx)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "check failed".into())
    })
}

fn check_or_panic(c: &Case, expected: &[Value], got: &[Value], ctx: &str) {
    let got: Vec<Value> = got.iter().map(strip_system).collect();
    match c.cmp {
        Cmp::Exact => {
            let e: Vec<String> = expected.iter().map(canonical).collect();
            let g: Vec<String> = got.iter().map(canonical).collect();
            assert_eq!(g, e, "{ctx}: {}", c.sql);
        }
        Cmp::Multiset => assert_eq!(multiset(&got), multiset(expected), "{ctx}: {}", c.sql),
        Cmp::SortedBy(ptrs) => {
            assert_eq!(multiset(&got), multiset(expected), "{ctx}: {}", c.sql);
            assert_eq!(
                keys_of(&got, ptrs),
                keys_of(expected, ptrs),
                "{ctx}: order of {}",
                c.sql
            );
        }
        Cmp::Subset(n) => {
            assert_eq!(got.len(), n, "{ctx}: {} gave {got:?}", c.sql);
            let mut pool = multiset(expected);
            for g in &got {
                let k = canonical(g);
                let i = pool
                    .iter()
                    .position(|p| *p == k)
                    .unwrap_or_else(|| panic!("{ctx}: {} gave {g} which is not expected", c.sql));
                pool.swap_remove(i);
            }
        }
    }
}

/// The shared world: the plain server and the three gateways, loaded once per test binary.
struct World {
    server: TestServer,
    gateways: Vec<TestGateway>,
    truths: Vec<Vec<Value>>,
}

fn container(account: &AccountReference) -> ContainerReference {
    ContainerReference::in_database(&DatabaseReference::from_name(account.clone(), DB), COLL)
}

fn load(client: &QueryClient, account: &AccountReference) {
    let db = CosmosOperation::create_database(account.clone(), DB);
    assert_eq!(
        client
            .execute(db, OperationOptions::new())
            .unwrap()
            .status(),
        201
    );
    // The stores serve a multi-key ORDER BY only from an exactly matching composite index
    // (LOCAL_SERVER.md Q8), as the service needs one too.
    let indexing = IndexingPolicy::builder()
        .composite_index([
            ("/cat", CompositeIndexOrder::Ascending),
            ("/n", CompositeIndexOrder::Descending),
        ])
        .composite_index([
            ("/cat", CompositeIndexOrder::Descending),
            ("/n", CompositeIndexOrder::Ascending),
        ])
        .build()
        .expect("indexing policy");
    let props = ContainerProperties::builder(COLL, PartitionKeyDefinition::hash("/pk"))
        .indexing_policy(indexing)
        .build()
        .expect("container properties");
    let dbref = DatabaseReference::from_name(account.clone(), DB);
    let r = client
        .execute(
            CosmosOperation::create_container(dbref, &props),
            OperationOptions::new(),
        )
        .unwrap();
    assert_eq!(r.status(), 201);
    create_items(client, &container(account), dataset());
}

/// Runs `sql` on the plain server itself (raw HTTP, every page): the ground truth.
fn server_rows(server: &TestServer, sql: &str, params: &[(&str, Value)]) -> Vec<Value> {
    let body = json!({
        "query": sql,
        "parameters": params.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
    })
    .to_string();
    let mut rows = Vec::new();
    let mut cont: Option<String> = None;
    for _ in 0..1000 {
        let mut headers = vec![
            ("x-ms-documentdb-isquery", "True"),
            ("content-type", "application/query+json"),
            ("x-ms-documentdb-query-enablecrosspartition", "True"),
            ("x-ms-max-item-count", "-1"),
        ];
        if let Some(c) = cont.as_deref() {
            headers.push(("x-ms-continuation", c));
        }
        let (status, h, v) = raw_http::exchange(
            server.http_endpoint(),
            "POST",
            &format!("/dbs/{DB}/colls/{COLL}/docs"),
            &headers,
            Some(&body),
            Duration::from_secs(30),
        );
        assert_eq!(status, 200, "ground truth for {sql}: {v}");
        rows.extend(v["Documents"].as_array().cloned().unwrap_or_default());
        cont = h
            .into_iter()
            .find(|(k, _)| k == "x-ms-continuation")
            .map(|(_, v)| v);
        if cont.is_none() {
            return rows;
        }
    }
    panic!("ground truth for {sql} did not finish in 1000 pages");
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let server = TestServer::start();
        let account =
            AccountReference::with_master_key(server.http_endpoint(), EMULATOR_KEY).unwrap();
        load(&QueryClient::new(Transport::Blocking, &account), &account);
        let gateways: Vec<TestGateway> = RANGES.iter().map(|n| TestGateway::start(*n)).collect();
        for g in &gateways {
            let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
            load(&QueryClient::new(Transport::Blocking, &account), &account);
        }
        let docs = dataset();
        let truths = cases()
            .iter()
            .map(|c| {
                let rows = match &c.truth {
                    Truth::Same => server_rows(&server, c.sql, &c.params),
                    Truth::Server(sql, f) => f(server_rows(&server, sql, &c.params)),
                    Truth::Model(f) => f(&docs),
                };
                rows.iter().map(strip_system).collect()
            })
            .collect();
        World {
            server,
            gateways,
            truths,
        }
    })
}

/// Every case on every gateway, page size and reading mode, through `transport`.
fn conformance(transport: Transport) {
    let w = world();
    let _ = &w.server;
    let cases = cases();
    let mut runs = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut by_range: BTreeMap<usize, usize> = BTreeMap::new();
    for g in &w.gateways {
        let account = AccountReference::with_master_key(g.endpoint(), EMULATOR_KEY).unwrap();
        let pager_client = QueryClient::new(transport, &account);
        let token_client = QueryClient::new(transport, &account);
        let ranges = g.topology()["collections"][format!("{DB}/{COLL}")]["ranges"]
            .as_array()
            .map_or(0, Vec::len);
        for (c, expected) in cases.iter().zip(&w.truths) {
            let op = CosmosOperation::query(container(&account), c.spec());
            for size in PAGE_SIZES {
                let opts = OperationOptions::new().with_max_item_count(size);
                let ctx = format!("{transport:?}, {ranges} ranges, pages of {size}");
                let pages = match pager_client.all_pages(op.clone(), opts.clone()) {
                    Ok(p) => p,
                    Err(e) => {
                        failures.push(format!("{ctx}, pager: {}: {e}", c.sql));
                        continue;
                    }
                };
                assert!(
                    pages.iter().all(|p| p.items().len() <= size as usize),
                    "{ctx}: a page exceeds {size} items: {}",
                    c.sql
                );
                let items: Vec<Value> = pages.iter().flat_map(|p| p.items().to_vec()).collect();
                failures.extend(check(c, expected, &items, &format!("{ctx}, pager")).err());
                // Every page but the last says more results follow, token or not.
                let more: Vec<bool> = pages.iter().map(|p| p.has_more_results()).collect();
                if more.last() == Some(&true) || more.iter().rev().skip(1).any(|m| !m) {
                    failures.push(format!(
                        "{ctx}: {}: has_more_results per page {more:?}",
                        c.sql
                    ));
                }
                runs += 1;
                if c.resumable {
                    // Every page from the previous page's token, on a driver that never saw the
                    // query: the token alone carries the state.
                    let pages = match token_client.all_pages_by_token(op.clone(), opts.clone()) {
                        Ok(p) => p,
                        Err(e) => {
                            failures.push(format!("{ctx}, by token: {}: {e}", c.sql));
                            continue;
                        }
                    };
                    let items: Vec<Value> = pages.iter().flat_map(|p| p.items().to_vec()).collect();
                    failures.extend(check(c, expected, &items, &format!("{ctx}, by token")).err());
                    runs += 1;
                }
            }
        }
        *by_range.entry(ranges).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        by_range.len(),
        RANGES.len(),
        "gateways with 1, 3 and 8 ranges"
    );
    assert!(
        cases.len() >= 60,
        "at least 60 queries, have {}",
        cases.len()
    );
    eprintln!(
        "{transport:?}: {} queries, {runs} runs compared",
        cases.len()
    );
}

#[test]
fn conformance_tokio() {
    conformance(Transport::Tokio);
}

#[test]
fn conformance_blocking() {
    conformance(Transport::Blocking);
}

#[test]
fn conformance_async_std() {
    conformance(Transport::AsyncStd);
}
