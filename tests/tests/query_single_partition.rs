//! Single-partition queries on the simulator: the request is a read (session token, retries,
//! read regions, its own metrics kind), pages follow the server's continuation, and the token
//! resumes on a fresh driver.

use std::time::Duration;

use sextant_core::models::{ContainerReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, OperationOptions, OutgoingRequest, QueryPage, QueryPager,
    QuerySpec,
};
use sextant_tests::sim::{Answer, Sim};

/// Five items `i0..i4` served two per page; the continuation is the next index.
fn serve(req: &OutgoingRequest) -> Answer {
    let start: usize = req
        .headers
        .get("x-ms-continuation")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = req
        .headers
        .get("x-ms-max-item-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let end = (start + max).min(5);
    let docs: Vec<String> = (start..end)
        .map(|i| format!(r#"{{"id":"i{i}","pk":"p"}}"#))
        .collect();
    let mut headers = vec![("x-ms-request-charge", "2.5".to_string())];
    if end < 5 {
        headers.push(("x-ms-continuation", end.to_string()));
    }
    Answer::Full {
        status: 200,
        headers,
        body: format!(
            r#"{{"Documents":[{}],"_count":{}}}"#,
            docs.join(","),
            end - start
        ),
        latency: Duration::from_millis(4),
    }
}

fn op(sim: &Sim) -> CosmosOperation {
    let container = ContainerReference::from_name(sim.account.clone(), "db", "c");
    let spec = QuerySpec::new("SELECT * FROM c WHERE c.n > @n").with_parameter("@n", 1);
    CosmosOperation::query(container, spec).with_partition_key(PartitionKey::from("p"))
}

fn next_page(sim: &mut Sim, pager: &mut QueryPager) -> Option<QueryPage> {
    let mut exec = pager.start_page(&mut sim.driver, sim.now)?;
    let outcome = sim.drive(&mut exec, &mut |_, req| serve(req));
    Some(pager.finish_page(&mut exec, outcome).expect("page"))
}

fn ids(page: &QueryPage) -> Vec<String> {
    page.items()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pages_follow_the_server_continuation_and_end() {
    let mut sim = Sim::new(1, DriverOptions::default());
    let opts = OperationOptions::new().with_max_item_count(2);
    let mut pager = QueryPager::new(op(&sim), opts).unwrap();
    let mut all = Vec::new();
    let mut pages = 0;
    while let Some(page) = next_page(&mut sim, &mut pager) {
        pages += 1;
        assert!(page.items().len() <= 2);
        assert_eq!(page.request_charge(), 2.5);
        assert_eq!(page.continuation().is_none(), pager.is_done());
        all.extend(ids(&page));
    }
    assert_eq!(pages, 3);
    assert_eq!(all, ["i0", "i1", "i2", "i3", "i4"]);
}

#[test]
fn a_query_is_a_read_with_query_headers() {
    let mut sim = Sim::new(2, DriverOptions::default());
    let mut pager = QueryPager::new(op(&sim), OperationOptions::new()).unwrap();
    let mut exec = pager.start_page(&mut sim.driver, sim.now).unwrap();
    let mut seen = Vec::new();
    let outcome = sim.drive(&mut exec, &mut |_, req| {
        seen.push(req.headers.clone());
        serve(req)
    });
    let page = pager.finish_page(&mut exec, outcome).unwrap();
    assert_eq!(page.items().len(), 5);
    let h = &seen[0];
    assert_eq!(h["x-ms-documentdb-isquery"], "True");
    assert_eq!(h["content-type"], "application/query+json");
    assert_eq!(h["x-ms-documentdb-partitionkey"], r#"["p"]"#);
    assert!(
        !h.contains_key("x-ms-documentdb-query-enablecrosspartition"),
        "a single-partition query is not cross-partition"
    );
    let sent = sim
        .transcript
        .iter()
        .find(|l| l.contains("SEND") && l.contains("POST"))
        .unwrap();
    assert!(sent.contains("/dbs/db/colls/c/docs"), "{sent}");
    let m = sim.driver.metrics_snapshot();
    assert!(
        m.by_operation
            .iter()
            .any(|o| o.kind == "query" && o.operations == 1),
        "queries are their own operation kind in metrics: {:?}",
        m.by_operation
    );
    assert_eq!(m.non_point_latency.count, 1, "and not point operations");
}

#[test]
fn a_throttled_query_page_is_retried_like_a_read() {
    let mut sim = Sim::new(3, DriverOptions::default());
    let mut pager = QueryPager::new(op(&sim), OperationOptions::new()).unwrap();
    let mut exec = pager.start_page(&mut sim.driver, sim.now).unwrap();
    let outcome = sim.drive(&mut exec, &mut |n, req| {
        if n == 0 {
            Answer::throttled(3200, 10)
        } else {
            serve(req)
        }
    });
    let page = pager.finish_page(&mut exec, outcome).unwrap();
    assert_eq!(page.items().len(), 5);
    assert_eq!(
        page.diagnostics()
            .requests()
            .iter()
            .filter(|r| r.status == Some(429))
            .count(),
        1
    );
}

#[test]
fn the_token_resumes_on_a_fresh_driver() {
    let mut first = Sim::new(4, DriverOptions::default());
    let opts = OperationOptions::new().with_max_item_count(2);
    let mut pager = QueryPager::new(op(&first), opts.clone()).unwrap();
    let page = next_page(&mut first, &mut pager).unwrap();
    assert_eq!(ids(&page), ["i0", "i1"]);
    let token = page.continuation().unwrap().to_string();
    assert_eq!(pager.continuation().as_deref(), Some(token.as_str()));

    let mut second = Sim::new(5, DriverOptions::default());
    let mut resumed = QueryPager::new(op(&second), opts.with_continuation(token.clone())).unwrap();
    let mut rest = Vec::new();
    while let Some(page) = next_page(&mut second, &mut resumed) {
        rest.extend(ids(&page));
    }
    assert_eq!(rest, ["i2", "i3", "i4"]);

    // A token is refused for another query.
    let other = CosmosOperation::query(
        ContainerReference::from_name(second.account.clone(), "db", "c"),
        QuerySpec::new("SELECT 1"),
    )
    .with_partition_key(PartitionKey::from("p"));
    let e = QueryPager::new(other, OperationOptions::new().with_continuation(token)).unwrap_err();
    assert!(e.to_string().contains("another query"), "{e}");
}
