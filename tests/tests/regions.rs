//! Multi-region routing on the simulator: failover, health marks, preferences, exclusions,
//! write-region moves and account refreshes.

use std::time::Duration;

use sextant_core::models::{ContainerReference, ItemReference, PartitionKey};
use sextant_core::{
    CosmosOperation, DriverOptions, ExecutionContext, OperationOptions, Purpose, RequestSent,
    TransportErrorKind,
};
use sextant_tests::sim::{count, Answer, Sim};

const THREE_REGIONS: &str = r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"},{"name":"North","databaseAccountEndpoint":"https://a-north.example:443/"}],"enableMultipleWriteLocations":false}"#;
const EAST_IS_WRITER: &str = r#"{"writableLocations":[{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"},{"name":"North","databaseAccountEndpoint":"https://a-north.example:443/"}],"enableMultipleWriteLocations":false}"#;
const MULTI_WRITE: &str = r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"}],"enableMultipleWriteLocations":true}"#;

fn account(body: &'static str) -> Answer {
    Answer::ok_with(body)
}

fn sim(options: DriverOptions, body: &'static str) -> Sim {
    let mut s = Sim::new(5, options);
    s.account_answer = Some(account(body));
    s
}

fn read(s: &Sim) -> CosmosOperation {
    CosmosOperation::read(ItemReference::from_name(s.account.clone(), "db", "c", "a"))
        .with_partition_key(PartitionKey::from("p"))
}

fn create(s: &Sim) -> CosmosOperation {
    CosmosOperation::create(ContainerReference::from_name(s.account.clone(), "db", "c"))
        .with_partition_key(PartitionKey::from("p"))
        .with_body("{}")
}

fn data_regions(r: &sextant_core::CosmosDiagnostics) -> Vec<(String, ExecutionContext)> {
    r.requests()
        .iter()
        .filter(|a| a.purpose == Purpose::Operation)
        .map(|a| (a.region.to_string(), a.execution_context))
        .collect()
}

#[test]
fn reads_fail_over_to_the_next_region_without_preferences() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                Answer::status(503, 0)
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    assert_eq!(
        data_regions(r.diagnostics()),
        [
            ("West".into(), ExecutionContext::Initial),
            ("East".into(), ExecutionContext::RegionFailover)
        ]
    );
}

#[test]
fn a_region_that_cannot_be_reached_is_skipped_until_its_ttl_expires() {
    let opts = DriverOptions::builder()
        .unavailable_region_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut s = sim(opts, THREE_REGIONS);
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent)
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    assert_eq!(data_regions(r.diagnostics()).len(), 2);
    // The next read goes straight to East: West is at the end of the list.
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        data_regions(r.diagnostics()),
        [("East".into(), ExecutionContext::Initial)]
    );
    // After the TTL, West is first again.
    s.now = s.now.advanced(Duration::from_secs(61));
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        data_regions(r.diagnostics()),
        [("West".into(), ExecutionContext::Initial)]
    );
}

#[test]
fn failover_walks_every_region_once_before_giving_up() {
    let opts = DriverOptions::builder()
        .max_failover_retries(5)
        .build()
        .unwrap();
    let mut s = sim(opts, THREE_REGIONS);
    let op = read(&s);
    let e = s
        .run(op, OperationOptions::new(), |_, _| {
            Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent)
        })
        .unwrap_err();
    let regions: Vec<String> = data_regions(e.diagnostics())
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        &regions[..3],
        ["West", "East", "North"],
        "no region skipped even as each is marked: {regions:?}"
    );
    assert_eq!(regions.len(), 6, "initial + 5 retries");
}

#[test]
fn preferred_regions_reorder_and_excluded_regions_filter() {
    let opts = DriverOptions::builder()
        .preferred_regions(["North", "East"])
        .build()
        .unwrap();
    let mut s = sim(opts, THREE_REGIONS);
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(data_regions(r.diagnostics())[0].0, "North");
    let op = read(&s);
    let r = s
        .run(
            op,
            OperationOptions::new().with_excluded_regions(["North"]),
            |_, _| Answer::ok(200),
        )
        .unwrap();
    assert_eq!(data_regions(r.diagnostics())[0].0, "East");
    // Writes on a single-write account go to the write region whatever the preference.
    let op = create(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(201))
        .unwrap();
    assert_eq!(data_regions(r.diagnostics())[0].0, "West");
    assert_eq!(
        count(&s.transcript, "tentative"),
        0,
        "single-write accounts never send tentative writes"
    );
}

#[test]
fn write_forbidden_refreshes_the_account_and_moves_to_the_new_write_region() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    s.account_script = Some(Box::new(|n| {
        account(if n == 0 {
            THREE_REGIONS
        } else {
            EAST_IS_WRITER
        })
    }));
    let op = create(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                Answer::status(403, 3)
            } else {
                Answer::ok(201)
            }
        })
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        data_regions(r.diagnostics()),
        [
            ("West".into(), ExecutionContext::Initial),
            ("East".into(), ExecutionContext::RegionFailover)
        ]
    );
    assert_eq!(
        count(&s.transcript, "GET https://sim.documents.azure.com:443/ "),
        2,
        "forced refresh: {:#?}",
        s.transcript
    );
}

#[test]
fn forced_refreshes_are_rate_limited() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    // The account keeps saying West writes, and West keeps answering 403/3.
    for _ in 0..3 {
        let op = create(&s);
        let _ = s.run(
            op,
            OperationOptions::new().with_end_to_end_timeout(Duration::from_secs(3)),
            |_, _| Answer::status(403, 3),
        );
    }
    let refreshes = count(&s.transcript, "GET https://sim.documents.azure.com:443/ ");
    // One initial read, then at most one forced refresh per 15 s of virtual time.
    let elapsed = s.elapsed().as_secs();
    assert!(
        refreshes <= 2 + (elapsed / 15) as usize,
        "{refreshes} refreshes in {elapsed} s"
    );
}

#[test]
fn multi_write_accounts_write_to_preferred_regions_with_tentative_writes() {
    let opts = DriverOptions::builder()
        .preferred_regions(["East"])
        .build()
        .unwrap();
    let mut s = sim(opts, MULTI_WRITE);
    let op = create(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(201))
        .unwrap();
    assert_eq!(data_regions(r.diagnostics())[0].0, "East");
    assert_eq!(count(&s.transcript, "tentative"), 1);
}

#[test]
fn session_not_available_goes_to_the_hub_then_adds_the_hub_only_header() {
    let opts = DriverOptions::builder()
        .preferred_regions(["North"])
        .build()
        .unwrap();
    let mut s = sim(opts, THREE_REGIONS);
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |i, _| {
            if i < 2 {
                Answer::status(404, 1002)
            } else {
                Answer::ok(200)
            }
        })
        .unwrap();
    let regions: Vec<String> = data_regions(r.diagnostics())
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(regions, ["North", "West", "West"]);
    assert_eq!(
        count(&s.transcript, "hub_only"),
        1,
        "only the second retry carries the header: {:#?}",
        s.transcript
    );
}

#[test]
fn account_metadata_is_refreshed_every_five_minutes() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    s.now = s.now.advanced(Duration::from_secs(299));
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        count(&s.transcript, "GET https://sim.documents.azure.com:443/ "),
        1
    );
    s.now = s.now.advanced(Duration::from_secs(2));
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        count(&s.transcript, "GET https://sim.documents.azure.com:443/ "),
        2
    );
}

#[test]
fn a_dead_global_endpoint_does_not_stop_account_refreshes() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    // Global endpoint now refuses connections; regional endpoints answer the account read.
    s.account_script = Some(Box::new(|n| {
        if n == 1 {
            Answer::fail(TransportErrorKind::Connect, RequestSent::NotSent)
        } else {
            account(THREE_REGIONS)
        }
    }));
    s.now = s.now.advanced(Duration::from_secs(301));
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        count(&s.transcript, "GET https://a-west.example:443/ "),
        1,
        "{:#?}",
        s.transcript
    );
}

#[test]
fn a_failed_refresh_does_not_fail_operations_while_old_metadata_exists() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    s.account_script = Some(Box::new(|n| {
        if n == 0 {
            account(THREE_REGIONS)
        } else {
            Answer::status(503, 0)
        }
    }));
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    s.now = s.now.advanced(Duration::from_secs(301));
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "stale-while-revalidate: the old regions still serve"
    );
    let refreshes = count(&s.transcript, "GET https://") - count(&s.transcript, "/docs/");
    assert!(
        refreshes >= 2,
        "the refresh was attempted: {:#?}",
        s.transcript
    );
    // The next refresh is due one interval later, not on every operation.
    let before = count(&s.transcript, "ctx=initial region=\"\"");
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        count(&s.transcript, "ctx=initial region=\"\""),
        before,
        "{:#?}",
        s.transcript
    );
}

fn after(ms: u64, status: u16) -> Answer {
    Answer::Status {
        status,
        sub_status: None,
        retry_after_ms: None,
        body: r#"{"id":"a"}"#,
        latency: Duration::from_millis(ms),
    }
}

#[test]
fn a_slow_region_is_hedged_and_the_loser_aborted() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| after(1, 200))
        .unwrap(); // warm the account
    let start = s.elapsed();
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                after(2_000, 200)
            } else {
                after(5, 200)
            }
        })
        .unwrap();
    assert_eq!(
        data_regions(r.diagnostics()),
        [
            ("West".into(), ExecutionContext::Initial),
            ("East".into(), ExecutionContext::Hedging)
        ]
    );
    assert_eq!(
        s.elapsed() - start,
        Duration::from_millis(505),
        "hedge at 500 ms + 5 ms answer"
    );
    assert_eq!(count(&s.transcript, "ABORT"), 1, "{:#?}", s.transcript);
    assert_eq!(
        s.driver.hedges_in_flight(),
        0,
        "the hedge budget is returned"
    );
}

#[test]
fn the_first_final_answer_wins_even_an_error() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    // West answers 404 at 650 ms (hedges went out at 503 and 603 ms); East would answer at 1 s.
    let e = s
        .run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                after(650, 404)
            } else {
                after(1_000, 200)
            }
        })
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        count(&s.transcript, "ctx=hedging"),
        2,
        "East at 503 ms, North at 603 ms: {:#?}",
        s.transcript
    );
}

#[test]
fn a_retriable_failure_of_one_hedge_waits_for_the_other() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, req| {
            match req.region.as_ref() {
                "West" => after(800, 200),
                _ => Answer::Status {
                    status: 503,
                    sub_status: None,
                    retry_after_ms: None,
                    body: "{}",
                    latency: Duration::from_millis(10),
                },
            }
        })
        .unwrap();
    assert_eq!(r.status(), 200, "West's slow success still wins");
    assert_eq!(
        r.diagnostics()
            .requests()
            .iter()
            .filter(|a| a.purpose == Purpose::Operation)
            .count(),
        3
    );
}

#[test]
fn hedging_respects_the_operation_switch_writes_and_the_driver_budget() {
    let slow_west = |_: usize, req: &sextant_core::OutgoingRequest| {
        if req.region.as_ref() == "West" {
            after(2_000, 200)
        } else {
            after(5, 200)
        }
    };
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let op = read(&s);
    s.run(op, OperationOptions::new().with_hedging(false), slow_west)
        .unwrap();
    assert_eq!(count(&s.transcript, "ctx=hedging"), 0);
    let op = create(&s);
    s.run(op, OperationOptions::new(), |_, _| after(2_000, 201))
        .unwrap();
    assert_eq!(
        count(&s.transcript, "ctx=hedging"),
        0,
        "single-write writes are never hedged"
    );
    let no_budget = sextant_core::options::HedgingOptions {
        max_concurrent_hedges: 0,
        ..Default::default()
    };
    let mut s = sim(
        DriverOptions::builder().hedging(no_budget).build().unwrap(),
        THREE_REGIONS,
    );
    let op = read(&s);
    s.run(op, OperationOptions::new(), slow_west).unwrap();
    assert_eq!(
        count(&s.transcript, "ctx=hedging"),
        0,
        "no budget, no hedge"
    );
}

#[test]
fn a_single_region_account_never_hedges() {
    let mut s = Sim::new(1, DriverOptions::default());
    let op = read(&s);
    s.run(op, OperationOptions::new(), |_, _| after(2_000, 200))
        .unwrap();
    assert_eq!(count(&s.transcript, "ctx=hedging"), 0);
}

const THREE_REGIONS_PPAF: &str = r#"{"writableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"}],"readableLocations":[{"name":"West","databaseAccountEndpoint":"https://a-west.example:443/"},{"name":"East","databaseAccountEndpoint":"https://a-east.example:443/"},{"name":"North","databaseAccountEndpoint":"https://a-north.example:443/"}],"enableMultipleWriteLocations":false,"enablePerPartitionFailoverBehavior":true}"#;

#[test]
fn the_circuit_breaker_moves_a_failing_partition_then_probes_back() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let west_down = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut first_regions = Vec::new();
    let mut contexts = Vec::new();
    for i in 0..13 {
        if i == 12 {
            s.now = s.now.advanced(Duration::from_secs(6)); // past the 5 s hold
            west_down.set(false);
        }
        let down = west_down.clone();
        let op = read(&s);
        let r = s
            .run(op, OperationOptions::new(), move |_, req| {
                if down.get() && req.region.as_ref() == "West" {
                    Answer::status(503, 0)
                } else {
                    Answer::ok(200)
                }
            })
            .unwrap();
        let d = data_regions(r.diagnostics());
        first_regions.push(d[0].0.clone());
        contexts.push(d[0].1);
    }
    assert!(
        first_regions[..10].iter().all(|r| r == "West"),
        "{first_regions:?}"
    );
    assert_eq!(
        first_regions[10], "East",
        "after 10 failures the partition avoids West: {first_regions:?}"
    );
    assert_eq!(first_regions[11], "East");
    assert_eq!(
        first_regions[12], "West",
        "after the hold, a probe goes back"
    );
    assert_eq!(contexts[12], ExecutionContext::CircuitBreakerProbe);
    // The probe succeeded: the breaker is closed and West is used normally.
    let op = read(&s);
    let r = s
        .run(op, OperationOptions::new(), |_, _| Answer::ok(200))
        .unwrap();
    assert_eq!(
        data_regions(r.diagnostics()),
        [("West".into(), ExecutionContext::Initial)]
    );
}

#[test]
fn per_partition_failover_moves_writes_of_a_failing_partition() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS_PPAF);
    let mut regions = Vec::new();
    for _ in 0..6 {
        let op = create(&s);
        let r = s.run(op, OperationOptions::new(), |_, req| {
            if req.region.as_ref() == "West" {
                Answer::status(503, 0)
            } else {
                Answer::ok(201)
            }
        });
        let diag = match &r {
            Ok(r) => r.diagnostics().clone(),
            Err(e) => e.diagnostics().clone(),
        };
        regions.push(data_regions(&diag)[0].0.clone());
    }
    assert!(regions[..5].iter().all(|r| r == "West"), "{regions:?}");
    assert_eq!(
        regions[5], "East",
        "5 write failures open the breaker; PPAF lets the partition move: {regions:?}"
    );
    // Without the account flag, writes stay in the write region.
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    for _ in 0..6 {
        let op = create(&s);
        let _ = s.run(op, OperationOptions::new(), |_, _| Answer::status(503, 0));
    }
    assert_eq!(count(&s.transcript, "POST https://a-east"), 0);
}

#[test]
fn a_region_that_hangs_is_eventually_avoided_for_the_partition() {
    let mut s = sim(DriverOptions::default(), THREE_REGIONS);
    let mut first = Vec::new();
    for _ in 0..12 {
        let op = read(&s);
        let r = s
            .run(op, OperationOptions::new(), |_, req| {
                if req.region.as_ref() == "West" {
                    Answer::Stall
                } else {
                    after(5, 200)
                }
            })
            .unwrap();
        first.push(data_regions(r.diagnostics())[0].0.clone());
    }
    // Each read paid the 500 ms hedge threshold while West hung; after 10 slow losses the
    // partition's breaker opens and reads start in East.
    assert!(first[..10].iter().all(|r| r == "West"), "{first:?}");
    assert_eq!(first[10], "East", "{first:?}");
}
