//! Cross-partition queries on the simulator: the plan request, fan-out to exactly the ranges
//! the plan touches with bounded concurrency, pages in range order, resumption from every
//! token on a fresh driver, TOP, a split in the middle of a query, and a plan this client
//! cannot run. (The multi-partition test gateway runs the same shapes against real stores.)

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};
use sextant_core::models::ContainerReference;
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, OutgoingRequest, QueryPage, QueryPager,
    QuerySpec,
};
use sextant_tests::sim::{Answer, Sim};

/// A simulated container: ranges (id, min, max, parents) and each range's items.
struct World {
    ranges: Vec<(String, String, String, Vec<String>)>,
    /// Items by original range id, in server order (the server continuation is an index).
    items: BTreeMap<String, Vec<String>>,
    /// After a split: child id -> (parent id, which half).
    children: BTreeMap<String, (String, usize)>,
    gone: Vec<String>,
    /// The substatus a gone range answers 410 with (1002 split; 1007, 1008 also say the
    /// topology changed).
    gone_sub_status: u32,
    etag: u32,
    plan: Value,
    /// Range requests seen: (range id, continuation).
    requests: Vec<(String, Option<String>)>,
    /// Requests that carried EPK bounds (a feed-range scope).
    bounded_requests: usize,
}

fn header<'a>(req: &'a OutgoingRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

impl World {
    fn new(counts: &[usize]) -> Rc<RefCell<World>> {
        let bounds = ["", "55", "AA", "FF"];
        let mut ranges = Vec::new();
        let mut items = BTreeMap::new();
        for (i, n) in counts.iter().enumerate() {
            let id = i.to_string();
            ranges.push((
                id.clone(),
                bounds[i].to_string(),
                bounds[i + 1].to_string(),
                vec![],
            ));
            items.insert(id, (0..*n).map(|k| format!("r{i}-{k}")).collect());
        }
        Rc::new(RefCell::new(World {
            ranges,
            items,
            children: BTreeMap::new(),
            gone: Vec::new(),
            gone_sub_status: 1002,
            etag: 1,
            plan: plan(json!({}), &[("", "FF")]),
            requests: Vec::new(),
            bounded_requests: 0,
        }))
    }

    /// EPKs of an original range's items, evenly spread over the range (hex, two digits).
    fn epks(&self, range: &str) -> Vec<String> {
        let Some((_, min, max, _)) = self.ranges.iter().find(|r| r.0 == range) else {
            return Vec::new();
        };
        let lo = u32::from_str_radix(if min.is_empty() { "00" } else { min }, 16).unwrap();
        let hi = u32::from_str_radix(max, 16).unwrap();
        let n = self.items.get(range).map_or(0, Vec::len) as u32;
        (0..n)
            .map(|i| format!("{:02X}", lo + (hi - lo) * i / n.max(1)))
            .collect()
    }

    fn pk_ranges(&self) -> String {
        let ranges: Vec<Value> = self
            .ranges
            .iter()
            .map(|(id, min, max, parents)| {
                json!({"id": id, "minInclusive": min, "maxExclusive": max, "parents": parents})
            })
            .collect();
        json!({ "PartitionKeyRanges": ranges }).to_string()
    }

    /// Splits range `id` into two children with the given ids, at `mid`.
    fn split(&mut self, id: &str, mid: &str, a: &str, b: &str) {
        let pos = self.ranges.iter().position(|r| r.0 == id).unwrap();
        let (_, min, max, _) = self.ranges.remove(pos);
        self.ranges
            .insert(pos, (b.into(), mid.into(), max, vec![id.into()]));
        self.ranges
            .insert(pos, (a.into(), min, mid.into(), vec![id.into()]));
        self.children.insert(a.into(), (id.into(), 0));
        self.children.insert(b.into(), (id.into(), 1));
        self.gone.push(id.into());
        self.etag += 1;
    }

    fn serve(&mut self, req: &OutgoingRequest) -> Answer {
        if header(req, "x-ms-cosmos-is-query-plan-request") == Some("True") {
            return full(200, vec![], self.plan.to_string());
        }
        let range = header(req, "x-ms-documentdb-partitionkeyrangeid")
            .expect("range id")
            .to_string();
        let cont = header(req, "x-ms-continuation").map(str::to_owned);
        self.requests.push((range.clone(), cont.clone()));
        if self.gone.contains(&range) {
            return Answer::Status {
                status: 410,
                sub_status: Some(self.gone_sub_status),
                retry_after_ms: None,
                body: r#"{"code":"Gone"}"#,
                latency: Duration::from_millis(2),
            };
        }
        let max: usize = header(req, "x-ms-max-item-count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        let start: usize = cont.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        // A child serves its half of the parent's items, positions counted in the parent's list
        // (server tokens are rid-based and stay valid on a child).
        // Items have EPKs spread over their range; a sub-range request reads only its bounds.
        let bounds = (
            header(req, "x-ms-start-epk").map(str::to_owned),
            header(req, "x-ms-end-epk").map(str::to_owned),
        );
        if bounds.0.is_some() {
            assert_eq!(
                header(req, "x-ms-read-key-type"),
                Some("EffectivePartitionKeyRange")
            );
            self.bounded_requests += 1;
        }
        let epk_of = self.epks(&range);
        let in_bounds = move |i: usize| match (&bounds.0, &bounds.1, epk_of.get(i)) {
            (Some(lo), Some(hi), Some(e)) => lo.as_str() <= e.as_str() && e.as_str() < hi.as_str(),
            _ => true,
        };
        let (list, mine0): (Vec<String>, Box<dyn Fn(usize) -> bool>) =
            match self.children.get(&range) {
                Some((parent, half)) => {
                    let list = self.items[parent].clone();
                    let cut = list.len() / 2;
                    let half = *half;
                    (list, Box::new(move |i| (i < cut) == (half == 0)))
                }
                None => (self.items[&range].clone(), Box::new(|_| true)),
            };
        let mine = move |i: usize| mine0(i) && in_bounds(i);
        let mut docs = Vec::new();
        let mut i = start;
        while i < list.len() && docs.len() < max {
            if mine(i) {
                docs.push(json!({ "id": list[i] }));
            }
            i += 1;
        }
        let mut headers = vec![("x-ms-request-charge", "1".to_string())];
        if (i..list.len()).any(&mine) {
            headers.push(("x-ms-continuation", i.to_string()));
        }
        full(
            200,
            headers,
            json!({ "Documents": docs, "_count": docs.len() }).to_string(),
        )
    }
}

fn full(status: u16, headers: Vec<(&'static str, String)>, body: String) -> Answer {
    Answer::Full {
        status,
        headers,
        body,
        latency: Duration::from_millis(3),
    }
}

fn plan(info: Value, ranges: &[(&str, &str)]) -> Value {
    let ranges: Vec<Value> = ranges
        .iter()
        .map(|(min, max)| json!({"min": min, "max": max, "isMinInclusive": true, "isMaxInclusive": false}))
        .collect();
    let mut query_info =
        json!({"distinctType": "None", "orderBy": [], "rewrittenQuery": "", "hasSelectValue": 0});
    if let (Some(q), Some(extra)) = (query_info.as_object_mut(), info.as_object()) {
        for (k, v) in extra {
            q.insert(k.clone(), v.clone());
        }
    }
    json!({"partitionedQueryExecutionInfoVersion": 2, "queryInfo": query_info, "queryRanges": ranges})
}

fn sim(world: &Rc<RefCell<World>>, seed: u64) -> Sim {
    let mut sim = Sim::new(seed, DriverOptions::default());
    let w = world.clone();
    sim.pk_ranges_script = Some(Box::new(move |_, req| {
        let w = w.borrow();
        let etag = format!("\"{}\"", w.etag);
        if header(req, "if-none-match") == Some(etag.as_str()) {
            return full(304, vec![("etag", etag)], String::new());
        }
        // Full feed every time (the cache handles a full feed on an incremental read too).
        full(200, vec![("etag", etag)], w.pk_ranges())
    }));
    sim
}

fn op(sim: &Sim) -> CosmosOperation {
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    CosmosOperation::query(container, QuerySpec::new("SELECT * FROM c"))
}

fn next_page(
    sim: &mut Sim,
    world: &Rc<RefCell<World>>,
    pager: &mut QueryPager,
) -> Option<QueryPage> {
    let mut exec = pager.start_page(&mut sim.driver, sim.now)?;
    let w = world.clone();
    let outcome = sim.drive(&mut exec, &mut |_, req| w.borrow_mut().serve(req));
    Some(
        pager
            .finish_page(&mut exec, outcome)
            .unwrap_or_else(|e| panic!("page: {e}")),
    )
}

fn ids(pages: &[QueryPage]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| {
            p.items()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
        })
        .collect()
}

fn expected(world: &Rc<RefCell<World>>) -> Vec<String> {
    world.borrow().items.values().flatten().cloned().collect()
}

#[test]
fn every_item_once_in_range_order_for_every_page_size() {
    for size in [1u32, 2, 7, 1000] {
        let world = World::new(&[5, 0, 4]);
        let mut s = sim(&world, 1);
        let mut pager =
            QueryPager::new(op(&s), OperationOptions::new().with_max_item_count(size)).unwrap();
        let mut pages = Vec::new();
        while let Some(p) = next_page(&mut s, &world, &mut pager) {
            assert!(p.items().len() <= size as usize, "page size {size}");
            pages.push(p);
        }
        assert_eq!(ids(&pages), expected(&world), "page size {size}");
        assert!(pages.last().unwrap().continuation().is_none());
    }
}

#[test]
fn every_token_resumes_on_a_fresh_driver() {
    for size in [1u32, 3, 7] {
        let world = World::new(&[4, 3, 5]);
        let opts = OperationOptions::new().with_max_item_count(size);
        let mut seed = 10;
        let mut token: Option<String> = None;
        let mut all = Vec::new();
        loop {
            // A new driver (a new process, as far as the query knows) for every page.
            let mut s = sim(&world, seed);
            seed += 1;
            let mut o = opts.clone();
            if let Some(t) = &token {
                o = o.with_continuation(t.clone());
            }
            let mut pager = QueryPager::new(op(&s), o).unwrap();
            let Some(page) = next_page(&mut s, &world, &mut pager) else {
                break;
            };
            all.extend(ids(std::slice::from_ref(&page)));
            token = page.continuation().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(all, expected(&world), "page size {size}");
    }
}

#[test]
fn the_plan_decides_which_ranges_are_queried() {
    let world = World::new(&[3, 3, 3]);
    world.borrow_mut().plan = plan(json!({}), &[("60", "70")]);
    let mut s = sim(&world, 2);
    let mut pager = QueryPager::new(op(&s), OperationOptions::new()).unwrap();
    let page = next_page(&mut s, &world, &mut pager).unwrap();
    assert_eq!(ids(std::slice::from_ref(&page)), ["r1-0", "r1-1", "r1-2"]);
    let ranges: Vec<String> = world
        .borrow()
        .requests
        .iter()
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(ranges, ["1"], "only the overlapping range is asked");
    // The plan request, the three range-less metadata reads and one range request are all in
    // the page's diagnostics, and the page is one operation of kind "query".
    assert!(page.diagnostics().requests().len() >= 2);
    let m = s.driver.metrics_snapshot();
    assert_eq!(m.operations, 1);
}

#[test]
fn no_page_is_fetched_twice_with_a_kept_pager() {
    let world = World::new(&[6, 6, 6]);
    let mut s = sim(&world, 3);
    let mut pager =
        QueryPager::new(op(&s), OperationOptions::new().with_max_item_count(4)).unwrap();
    let mut pages = Vec::new();
    while let Some(p) = next_page(&mut s, &world, &mut pager) {
        pages.push(p);
    }
    assert_eq!(ids(&pages), expected(&world));
    let requests = world.borrow().requests.clone();
    let mut seen = requests.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        requests.len(),
        "a (range, continuation) was asked twice: {requests:?}"
    );
}

#[test]
fn top_stops_the_query() {
    let world = World::new(&[3, 3, 3]);
    world.borrow_mut().plan = plan(json!({"top": 4}), &[("", "FF")]);
    let mut s = sim(&world, 4);
    let mut pager =
        QueryPager::new(op(&s), OperationOptions::new().with_max_item_count(3)).unwrap();
    let mut pages = Vec::new();
    while let Some(p) = next_page(&mut s, &world, &mut pager) {
        pages.push(p);
    }
    assert_eq!(ids(&pages), ["r0-0", "r0-1", "r0-2", "r1-0"]);
}

#[test]
fn a_split_mid_query_loses_and_repeats_nothing() {
    // 410 with 1002 (range gone), 1007 (completing a split) or 1008 (completing a migration):
    // the table's topology row, the same for a fan-out as for a single request.
    for (size, sub) in [1u32, 2, 5]
        .into_iter()
        .flat_map(|size| [1002, 1007, 1008].map(|sub| (size, sub)))
    {
        let world = World::new(&[3, 8, 3]);
        world.borrow_mut().gone_sub_status = sub;
        let mut s = sim(&world, 5);
        let mut pager =
            QueryPager::new(op(&s), OperationOptions::new().with_max_item_count(size)).unwrap();
        let mut pages = Vec::new();
        let mut split = false;
        while let Some(p) = next_page(&mut s, &world, &mut pager) {
            pages.push(p);
            // Once range 1 has served a page, split it.
            if !split && world.borrow().requests.iter().any(|(r, _)| r == "1") {
                world.borrow_mut().split("1", "80", "3", "4");
                split = true;
            }
        }
        assert!(split);
        let got = ids(&pages);
        let mut want = expected(&world);
        let mut sorted = got.clone();
        sorted.sort();
        want.sort();
        assert_eq!(
            sorted, want,
            "page size {size}, 410/{sub}: every item exactly once"
        );
        let asked: Vec<String> = world
            .borrow()
            .requests
            .iter()
            .map(|(r, _)| r.clone())
            .collect();
        assert!(
            asked.contains(&"3".to_string()) && asked.contains(&"4".to_string()),
            "{asked:?}"
        );
    }
}

#[test]
fn concurrency_is_bounded() {
    let world = World::new(&[2, 2, 2]);
    let mut s = sim(&world, 6);
    let opts = OperationOptions::new().with_max_concurrency(1);
    let mut pager = QueryPager::new(op(&s), opts).unwrap();
    let mut pages = Vec::new();
    while let Some(p) = next_page(&mut s, &world, &mut pager) {
        pages.push(p);
    }
    assert_eq!(ids(&pages), expected(&world));
    // With one range at a time, no two range requests overlap in the transcript.
    let mut open = 0i32;
    let mut max_open = 0;
    for line in &s.transcript {
        if line.contains("SEND") && line.contains("/docs ") {
            open += 1;
            max_open = max_open.max(open);
        }
        if line.contains("RECV") {
            open = (open - 1).max(0);
        }
    }
    assert!(max_open <= 2, "{max_open}"); // the plan request and at most one range request
}

#[test]
fn a_plan_this_client_cannot_run_is_a_typed_error() {
    let world = World::new(&[1, 1, 1]);
    world.borrow_mut().plan = plan(json!({"dCountInfo": {"dCountAlias": "d"}}), &[("", "FF")]);
    let mut s = sim(&world, 7);
    let mut pager = QueryPager::new(op(&s), OperationOptions::new()).unwrap();
    let mut exec = pager.start_page(&mut s.driver, s.now).unwrap();
    let w = world.clone();
    let outcome = s.drive(&mut exec, &mut |_, req| w.borrow_mut().serve(req));
    let e = pager.finish_page(&mut exec, outcome).unwrap_err();
    assert!(e.to_string().contains("DCOUNT"), "{e}");
}

#[test]
fn a_cross_partition_page_records_and_replays() {
    let world = World::new(&[3, 2, 4]);
    let mut s = sim(&world, 8);
    s.driver.start_recording();
    let mut pager =
        QueryPager::new(op(&s), OperationOptions::new().with_max_item_count(4)).unwrap();
    let mut pages = Vec::new();
    while let Some(p) = next_page(&mut s, &world, &mut pager) {
        pages.push(p);
    }
    assert_eq!(ids(&pages), expected(&world));
    let recording = s.driver.take_recording().unwrap();
    let json = recording.to_json().unwrap();
    let back = sextant_core::replay::Recording::from_json(&json).unwrap();
    let outcome = sextant_core::replay::replay(
        &back,
        s.account.clone(),
        DriverOptions::default(),
        std::time::Instant::now(),
    )
    .unwrap_or_else(|m| panic!("{m}"));
    assert_eq!(outcome.executions, pages.len(), "one execution per page");
}

#[test]
fn feed_ranges_split_a_query_without_loss_or_overlap() {
    use sextant_core::feed::FeedRange;
    let world = World::new(&[4, 8, 4]);
    let halves = [
        FeedRange::new("", "80").unwrap(),
        FeedRange::new("80", "FF").unwrap(),
    ];
    let mut all = Vec::new();
    for (n, half) in halves.iter().enumerate() {
        let mut s = sim(&world, 30 + n as u64);
        let op = op(&s).with_feed_range(half.clone());
        let mut pager =
            QueryPager::new(op, OperationOptions::new().with_max_item_count(3)).unwrap();
        while let Some(p) = next_page(&mut s, &world, &mut pager) {
            all.extend(ids(std::slice::from_ref(&p)));
        }
    }
    let mut want = expected(&world);
    all.sort();
    want.sort();
    assert_eq!(
        all, want,
        "the two halves together are the whole query, once"
    );
    // Range 1 ([55, AA)) straddles the split: both halves read it with EPK bounds; the ranges
    // wholly inside a half are read without.
    assert!(world.borrow().bounded_requests >= 2);
    // The feed ranges of the container come from its pk-range feed.
    let body = world.borrow().pk_ranges();
    let ranges = FeedRange::from_partition_key_ranges(body.as_bytes()).unwrap();
    assert_eq!(ranges.len(), 3);
    assert_eq!((ranges[1].min(), ranges[1].max()), ("55", "AA"));
}
