//! The merge against a model (collect every row, then apply the clause), on random data split
//! across random producers and delivered in random page sizes and interleavings.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::execution::fanout::order::compare;

/// A key drawn from every type Cosmos orders (undefined included).
fn key() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        any::<bool>().prop_map(|b| Some(json!(b))),
        (-3i64..4).prop_map(|n| Some(json!(n))),
        prop::sample::select(vec!["", "a", "b", "ab"]).prop_map(|s| Some(json!(s))),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    /// Per producer: row keys (sorted by the producer like a server would, ties by position).
    producers: Vec<Vec<Option<Value>>>,
    desc: bool,
    offset: Option<u64>,
    limit: Option<u64>,
    distinct: bool,
    page: usize,
    pop: usize,
    /// Order in which producers deliver pages.
    schedule: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(prop::collection::vec(key(), 0..8), 1..5),
        any::<bool>(),
        prop::option::of(0u64..6),
        prop::option::of(0u64..10),
        any::<bool>(),
        1usize..4,
        1usize..6,
        prop::collection::vec(0usize..5, 0..40),
    )
        .prop_map(
            |(producers, desc, offset, limit, distinct, page, pop, schedule)| Case {
                producers,
                desc,
                offset,
                limit,
                distinct,
                page,
                pop,
                schedule,
            },
        )
}

fn sorted(keys: &mut [(Option<Value>, usize, usize)], desc: bool) {
    keys.sort_by(|a, b| {
        let o = compare(a.0.as_ref(), b.0.as_ref());
        let o = if desc { o.reverse() } else { o };
        o.then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
    });
}

/// An ORDER BY row whose payload is the projected value (as in `SELECT DISTINCT VALUE {k}`).
fn row(k: &Option<Value>) -> Value {
    let item = match k {
        Some(v) => json!({"item": v}),
        None => json!({}),
    };
    json!({"orderByItems": [item], "payload": {"k": k}})
}

proptest! {
    #[test]
    fn order_by_offset_limit_distinct_match_the_model(c in case()) {
        // What each producer serves: its rows sorted by the key in the query's direction.
        let mut served: Vec<Vec<(Option<Value>, usize, usize)>> = c
            .producers
            .iter()
            .enumerate()
            .map(|(p, keys)| {
                let mut v: Vec<_> = keys.iter().enumerate().map(|(i, k)| (k.clone(), p, i)).collect();
                sorted(&mut v, c.desc);
                v
            })
            .collect();
        // The model: everything, merged by key with ties by producer, then DISTINCT (ordered,
        // on the payload's key), OFFSET, LIMIT.
        let mut all: Vec<_> = served.iter().flatten().cloned().collect();
        sorted(&mut all, c.desc);
        let mut model: Vec<Value> = Vec::new();
        let mut last: Option<String> = None;
        for (k, _, _) in &all {
            let v = json!({"k": k});
            if c.distinct {
                let ck = canonical(&v);
                if last.as_deref() == Some(ck.as_str()) { continue; }
                last = Some(ck);
            }
            model.push(v);
        }
        let model: Vec<Value> = model
            .into_iter()
            .skip(c.offset.unwrap_or(0) as usize)
            .take(c.limit.map_or(usize::MAX, |l| l as usize))
            .collect();

        let plan = PlanView {
            rewritten: None,
            ranges: vec![],
            top: None,
            offset: c.offset,
            limit: c.limit,
            distinct: c.distinct.then_some(false),
            shape: Shape::OrderBy(vec![c.desc]),
        };
        let mut m = Merge::new(&plan, served.len());
        let mut cursor = vec![0usize; served.len()];
        let mut out: Vec<Value> = Vec::new();
        let mut schedule = c.schedule.clone().into_iter();
        for _ in 0..1000 {
            out.extend(m.pop(c.pop).unwrap().0);
            if m.is_done() { break; }
            let wanted = m.wanted();
            if wanted.is_empty() { continue; }
            // Any wanted producer may answer next.
            let p = wanted[schedule.next().unwrap_or(0) % wanted.len()];
            let start = cursor[p];
            let end = (start + c.page).min(served[p].len());
            let rows = served[p][start..end].iter().map(|(k, _, _)| row(k)).collect();
            cursor[p] = end;
            m.push_page(p, rows, end == served[p].len(), Returned::Count(0))
                .unwrap();
        }
        prop_assert!(m.is_done(), "the merge finished");
        prop_assert_eq!(out, model);
        served.clear();
    }

    #[test]
    fn value_aggregates_match_the_model(parts in prop::collection::vec(prop::collection::vec(-5i64..6, 0..6), 1..5)) {
        let plan = |shape| PlanView { rewritten: None, ranges: vec![], top: None, offset: None, limit: None, distinct: None, shape };
        let all: Vec<i64> = parts.iter().flatten().copied().collect();
        let run = |kind: Aggregate, row: &dyn Fn(&[i64]) -> Value| -> Vec<Value> {
            let mut m = Merge::new(&plan(Shape::Aggregate(kind)), parts.len());
            for (i, p) in parts.iter().enumerate() {
                m.push_page(i, vec![json!([row(p)])], true, Returned::Count(0))
                    .unwrap();
            }
            m.pop(10).unwrap().0
        };
        let count = run(Aggregate::Count, &|p| json!({"item": p.len()}));
        prop_assert_eq!(count, vec![json!(all.len())]);
        let sum = run(Aggregate::Sum, &|p| json!({"item": p.iter().sum::<i64>()}));
        prop_assert_eq!(sum, vec![json!(all.iter().sum::<i64>())]);
        let max = run(Aggregate::Max, &|p| match p.iter().max() {
            Some(m) => json!({"item": m, "item2": {"max": m, "count": p.len()}}),
            None => json!({"item2": {"count": 0}}),
        });
        prop_assert_eq!(max, all.iter().max().map(|m| json!(m)).into_iter().collect::<Vec<_>>());
        let avg = run(Aggregate::Average, &|p| json!({"item": {"sum": p.iter().sum::<i64>(), "count": p.len()}}));
        let want: Vec<f64> = if all.is_empty() { vec![] } else { vec![all.iter().sum::<i64>() as f64 / all.len() as f64] };
        prop_assert_eq!(avg.iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>(), want);
    }
}

/// A plan of `shape` with no TOP, OFFSET/LIMIT or DISTINCT.
fn plain_plan(shape: Shape) -> PlanView {
    PlanView {
        rewritten: None,
        ranges: Vec::new(),
        top: None,
        offset: None,
        limit: None,
        distinct: None,
        shape,
    }
}

fn order_row(n: i64, rid: &str) -> Value {
    json!({"_rid": rid, "orderByItems": [{"item": n}], "payload": {"n": n}})
}

/// A split since the token: each child drops, by value, exactly the rows of the parent's page
/// that were returned (a count would drop different rows on each child).
#[test]
fn a_mark_drops_exactly_the_returned_rows_on_each_child() {
    let plan = plain_plan(Shape::OrderBy(vec![false]));
    // The parent's page: 1, 2, 2, 3 (ties by rid); 1 and the first 2 were returned.
    let mut parent = Merge::new(&plan, 1);
    let rows = vec![
        order_row(1, "a"),
        order_row(2, "b"),
        order_row(2, "c"),
        order_row(3, "d"),
    ];
    parent.push_page(0, rows, true, Returned::Count(0)).unwrap();
    let (out, _) = parent.pop(2).unwrap();
    assert_eq!(out, vec![json!({"n": 1}), json!({"n": 2})]);
    let mark = parent.mark(0).cloned().unwrap();
    let mark = Mark::from_json(&mark.to_json()).unwrap();
    // The children hold {1, 2c} and {2b, 3}.
    let mut child = Merge::new(&plan, 2);
    let left = child
        .push_page(
            0,
            vec![order_row(1, "a"), order_row(2, "c")],
            true,
            Returned::Mark(mark.clone()),
        )
        .unwrap();
    let right = child
        .push_page(
            1,
            vec![order_row(2, "b"), order_row(3, "d")],
            true,
            Returned::Mark(mark),
        )
        .unwrap();
    assert_eq!((left, right), (1, 1));
    let (out, _) = child.pop(10).unwrap();
    assert_eq!(out, vec![json!({"n": 2}), json!({"n": 3})]);
}

/// A parallel merge returns a server page whole: the result page ends early rather than split
/// one, so a token never points inside a server page.
#[test]
fn a_parallel_merge_does_not_split_a_server_page() {
    let plan = plain_plan(Shape::Parallel);
    let mut m = Merge::new(&plan, 2);
    m.push_page(0, vec![json!(1), json!(2)], true, Returned::Count(0))
        .unwrap();
    m.push_page(
        1,
        vec![json!(3), json!(4), json!(5)],
        true,
        Returned::Count(0),
    )
    .unwrap();
    let (out, _) = m.pop(4).unwrap();
    assert_eq!(
        out,
        vec![json!(1), json!(2)],
        "producer 1's page of 3 does not fit in 2"
    );
    assert!(!m.next_fits(2, false) && m.next_fits(4, true));
    let (out, _) = m.pop(4).unwrap();
    assert_eq!(out, vec![json!(3), json!(4), json!(5)]);
}
