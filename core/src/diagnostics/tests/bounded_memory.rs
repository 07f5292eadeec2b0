//! 10,000 attempts: memory proportional to regions and groups, exact counts and totals.

use std::sync::Arc;
use std::time::Duration;

use super::{Attempt, Feeder};
use crate::diagnostics::{
    DiagnosticsVerbosity, ExecutionContext, HEAD_RECORDS, MAX_DEDUP_GROUPS, MAX_RECORDED_REQUESTS,
    MAX_REGIONS, TAIL_RECORDS,
};
use crate::request::Purpose;

const EP: &str = "https://a-westus2.documents.azure.com:443/dbs/db/colls/c/docs/x";

#[test]
fn ten_thousand_throttled_attempts_hold_a_constant_number_of_entries() {
    let west: Arc<str> = Arc::from("West US 2");
    let mut f = Feeder::new();
    let mut peak = 0;
    for i in 0..10_000u64 {
        let mut a = Attempt::new(&west, EP, 429, 1 + i % 50);
        a.sub_status = Some(3200);
        if i == 0 {
            a.ctx = ExecutionContext::Initial;
        }
        f.run(&a);
        peak = peak.max(f.b.retained_entries());
    }
    f.run(&Attempt::new(&west, EP, 200, 28));
    // 64 records + 1 region + 1 group whose durations (1..=50 ms: 50 distinct values, fewer
    // histogram buckets) are at most 64 exact samples or 50 buckets.
    let bound = MAX_RECORDED_REQUESTS + 1 + 1 + 64;
    assert!(peak <= bound, "peak {peak} > {bound}");
    let d = f.finish(Some(200));
    assert_eq!(d.request_count(), 10_001);
    assert_eq!(d.requests().len(), MAX_RECORDED_REQUESTS);
    assert_eq!(d.total_request_charge(), 10_001.0);
    assert!(d.retained_entries() <= bound);
    // Head in start order, then the tail, ending with the final attempt.
    let reqs = d.requests();
    assert_eq!(reqs[0].execution_context, ExecutionContext::Initial);
    assert_eq!(
        reqs[HEAD_RECORDS - 1].attempt.0 + 1,
        reqs[0].attempt.0 + HEAD_RECORDS as u64
    );
    assert_eq!(reqs.last().map(|r| r.status), Some(Some(200)));
    assert!(reqs.windows(2).all(|w| w[0].attempt < w[1].attempt));
    assert_eq!(reqs.len() - HEAD_RECORDS, TAIL_RECORDS);
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Summary)).unwrap();
    let region = &v["regions"][0];
    assert_eq!(region["request_count"], 10_001);
    assert_eq!(region["first"]["execution_context"], "initial");
    assert_eq!(region["last"]["status_code"], 200);
    let g = &region["deduplicated_groups"][0];
    assert_eq!(g["count"], 9_999);
    assert_eq!(g["min_duration_ms"], 1);
    assert_eq!(g["max_duration_ms"], 50);
    // Durations cycle through 1..=50: the lower median is 25 or 26 (exact buckets there).
    let p50 = g["p50_duration_ms"].as_u64().unwrap();
    assert!((24..=26).contains(&p50), "{p50}");
}

#[test]
fn many_regions_and_keys_stay_within_the_caps() {
    let names: Vec<Arc<str>> = (0..MAX_REGIONS + 50)
        .map(|i| Arc::from(format!("region-{i}")))
        .collect();
    let mut f = Feeder::new();
    let mut peak = 0;
    for i in 0..10_000usize {
        let region = &names[i % names.len()];
        let mut a = Attempt::new(region, EP, 503, (i % 97) as u64);
        a.sub_status = Some((i % 1000) as u32);
        a.ctx = ExecutionContext::RegionFailover;
        f.run(&a);
        peak = peak.max(f.b.retained_entries());
    }
    let d = f.finish(Some(503));
    assert_eq!(d.request_count(), 10_000);
    assert_eq!(d.summaries().regions.len(), MAX_REGIONS);
    let groups: usize = d.summaries().regions.iter().map(|r| r.groups.len()).sum();
    assert_eq!(groups, MAX_DEDUP_GROUPS);
    assert!(d.summaries().untracked.request_count > 0);
    // Records + regions (each with up to 2 owned boundary copies) + groups and their samples.
    let bound = MAX_RECORDED_REQUESTS
        + MAX_REGIONS * 3
        + MAX_DEDUP_GROUPS * (1 + 64)
        + MAX_REGIONS * (1 + 64 + 976);
    assert!(peak <= bound, "{peak}");
    // Counts add up: regions + untracked = all attempts.
    let tracked: u64 = d.summaries().regions.iter().map(|r| r.request_count).sum();
    assert_eq!(tracked + d.summaries().untracked.request_count, 10_000);
    let charge: f64 = d
        .summaries()
        .regions
        .iter()
        .map(|r| r.request_charge)
        .sum::<f64>()
        + d.summaries().untracked.request_charge;
    assert_eq!(charge, 10_000.0);
    let s = d.to_json_string(DiagnosticsVerbosity::Summary);
    assert!(s.len() <= 8 * 1024);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(
        v["other_regions"]["request_count"],
        d.summaries().untracked.request_count
    );
}

#[test]
fn boundary_records_evicted_from_the_tail_are_kept_as_copies() {
    let west: Arc<str> = Arc::from("West US 2");
    let east: Arc<str> = Arc::from("East US");
    let mut f = Feeder::new();
    for _ in 0..100 {
        f.run(&Attempt::new(&west, EP, 429, 5));
    }
    // One attempt in East US (first == last), then enough in West US to evict it.
    let mut a = Attempt::new(&east, "https://a-eastus.documents.azure.com:443/x", 503, 7);
    a.ctx = ExecutionContext::RegionFailover;
    f.run(&a);
    for _ in 0..(TAIL_RECORDS * 3) {
        f.run(&Attempt::new(&west, EP, 429, 5));
    }
    f.run(&Attempt::new(&west, EP, 200, 5));
    let d = f.finish(Some(200));
    assert!(
        d.requests().iter().all(|r| *r.region != *east),
        "evicted from the records"
    );
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Summary)).unwrap();
    let east_entry = &v["regions"][1];
    assert_eq!(east_entry["region"], "East US");
    assert_eq!(east_entry["first"]["status_code"], 503);
    assert_eq!(east_entry["first"]["execution_context"], "region_failover");
    assert_eq!(v["regions"][0]["last"]["status_code"], 200);
    assert_eq!(d.regions_contacted().len(), 2);
}

#[test]
fn hedged_attempts_finish_out_of_order() {
    let west: Arc<str> = Arc::from("West US 2");
    let east: Arc<str> = Arc::from("East US");
    let mut f = Feeder::new();
    let primary = Attempt::new(&west, EP, 200, 0);
    let mut hedge = Attempt::new(&east, EP, 200, 0);
    hedge.ctx = ExecutionContext::Hedging;
    let s1 = f.start(&primary);
    f.now += Duration::from_millis(500);
    let s2 = f.start(&hedge);
    f.now += Duration::from_millis(20);
    let at = f.now;
    f.end(s2, &hedge, at);
    let mut aborted = primary.clone();
    aborted.status = None;
    aborted.error = Some("aborted");
    f.end(s1, &aborted, at);
    let d = f.finish(Some(200));
    assert_eq!(d.requests()[0].region.as_ref(), "West US 2", "start order");
    assert_eq!(d.requests()[0].duration, Duration::from_millis(520));
    assert_eq!(d.requests()[1].duration, Duration::from_millis(20));
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Detailed)).unwrap();
    assert_eq!(v["requests"][0]["error"], "aborted");
    assert_eq!(v["requests"][0]["request_sent"], "unknown");
    assert_eq!(v["requests"][1]["execution_context"], "hedging");
}

#[test]
fn unfinished_attempts_are_closed_by_finish() {
    let west: Arc<str> = Arc::from("West US 2");
    let mut f = Feeder::new();
    let a = Attempt::new(&west, EP, 200, 0);
    let _slot = f.start(&a);
    f.now += Duration::from_millis(9);
    let d = f.finish(None);
    assert_eq!(d.requests()[0].error.as_deref(), Some("unfinished"));
    assert_eq!(d.requests()[0].duration, Duration::from_millis(9));
    assert!(d.summaries().regions[0].first.is_some());
    let mut meta = Attempt::new(&west, EP, 200, 1);
    meta.purpose = Purpose::AccountRead;
    let mut f = Feeder::new();
    f.run(&meta);
    let d = f.finish(None);
    assert_eq!(
        d.summaries().final_region,
        None,
        "metadata reads are not the operation's final region"
    );
}
