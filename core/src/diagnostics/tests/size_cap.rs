//! The Summary never exceeds its cap (>= 4 KiB), whatever the input: 1000 regions, huge and
//! hostile strings, thousands of groups. Pruning keeps the final outcome and says what it
//! removed.

use std::sync::Arc;
use std::time::Duration;

use super::{Attempt, Feeder};
use crate::diagnostics::group::{DedupGroup, GroupStats};
use crate::diagnostics::region::{RecordRef, RegionSummary};
use crate::diagnostics::summaries::{Summaries, Untracked};
use crate::diagnostics::summary::SummaryPlan;
use crate::diagnostics::{
    CosmosDiagnostics, DiagnosticsOptions, DiagnosticsVerbosity, ExecutionContext,
    RequestDiagnostics,
};
use crate::ids::{ActivityId, AttemptId};
use crate::request::Purpose;
use crate::rng::DetRng;
use crate::transport::RequestSent;

fn record(
    region: &Arc<str>,
    endpoint: &str,
    status: Option<u16>,
    error: Option<String>,
) -> RequestDiagnostics {
    RequestDiagnostics {
        attempt: AttemptId(1),
        purpose: Purpose::Operation,
        execution_context: ExecutionContext::RegionFailover,
        region: region.clone(),
        endpoint: endpoint.into(),
        status,
        sub_status: status.map(|_| 1002),
        request_charge: 1.5,
        activity_id: Some("x".repeat(300).into()),
        started_at: Duration::ZERO,
        duration: Duration::from_millis(12),
        request_sent: if status.is_some() {
            RequestSent::Sent
        } else {
            RequestSent::Unknown
        },
        events: Default::default(),
        error,
    }
}

fn ugly(rng: &mut DetRng, len: usize) -> String {
    const PIECES: [&str; 8] = ["a", "\"", "\\", "\u{1}", "é", "😀", "\n", "/"];
    (0..len).map(|_| PIECES[rng.below(8) as usize]).collect()
}

/// A diagnostics value built directly, past the builder's own limits.
fn pathological(
    rng: &mut DetRng,
    regions: usize,
    endpoint_len: usize,
    groups_per_region: usize,
) -> CosmosDiagnostics {
    let mut out = Vec::new();
    let mut count = 0;
    for i in 0..regions {
        let name_len = rng.below(300) as usize;
        let name: Arc<str> = Arc::from(format!("{}-{i}", ugly(rng, name_len)));
        let endpoint = format!("https://{}", ugly(rng, endpoint_len));
        let mut r = RegionSummary::new(name.clone(), i % 17 == 5);
        let status = [200u16, 429, 503, 404][rng.below(4) as usize];
        let err = (rng.below(2) == 0).then(|| ugly(rng, 1200));
        r.first = Some(RecordRef::Owned(Box::new(record(
            &name,
            &endpoint,
            Some(status),
            err.clone(),
        ))));
        if rng.below(5) != 0 {
            r.last = Some(RecordRef::Owned(Box::new(record(
                &name, &endpoint, None, err,
            ))));
        }
        for g in 0..groups_per_region {
            let mut stats = GroupStats::default();
            for k in 0..(1 + rng.below(100)) {
                stats.request_charge += 1.0;
                stats.durations.record(k * 7);
            }
            r.groups.push(DedupGroup {
                endpoint: endpoint.clone(),
                status: Some([200u16, 429, 503][g % 3]),
                sub_status: Some(g as u32),
                context: ExecutionContext::Retry,
                stats,
            });
        }
        if rng.below(3) == 0 {
            let mut o = GroupStats::default();
            o.durations.record(5);
            r.overflow = Some(o);
        }
        r.request_count = u64::from(r.first.is_some())
            + u64::from(r.last.is_some())
            + r.groups.iter().map(|g| g.stats.count()).sum::<u64>()
            + r.overflow.as_ref().map_or(0, GroupStats::count);
        count += r.request_count;
        out.push(r);
    }
    let final_region = out.iter().rposition(|r| !r.metadata);
    let untracked = rng.below(3);
    CosmosDiagnostics {
        activity_id: ActivityId::generate(rng),
        duration: Duration::from_secs(3),
        status: Some(503),
        sub_status: None,
        total_request_charge: 1e6,
        requests: Vec::new(),
        summaries: Some(Box::new(Summaries {
            regions: out,
            groups: 0,
            untracked: Untracked {
                request_count: untracked,
                request_charge: 2.0,
            },
            final_region,
        })),
        request_count: count + untracked,
        ignored_inputs: 0,
        max_summary_size_bytes: crate::diagnostics::DEFAULT_MAX_SUMMARY_SIZE_BYTES,
    }
}

/// Checks the invariants of a capped Summary; returns the parsed value.
fn check(d: &CosmosDiagnostics, cap: usize) -> serde_json::Value {
    let opts = DiagnosticsOptions::builder()
        .max_summary_size_bytes(cap)
        .build()
        .unwrap();
    let s = d.to_json_string_with(DiagnosticsVerbosity::Summary, &opts);
    assert!(s.len() <= cap, "{} > {cap}", s.len());
    let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
    assert_eq!(v["request_count"], d.request_count);
    let full_len = crate::diagnostics::prune::render_summary(d, usize::MAX, false).len();
    assert_eq!(
        v.get("truncated").is_some(),
        full_len > cap,
        "truncated iff needed"
    );
    // The final region's outcome survives.
    if let Some(f) = d.summaries().final_region {
        let regions = v["regions"].as_array().unwrap();
        let last = regions
            .last()
            .unwrap_or_else(|| panic!("final region dropped: {s}"));
        let want = if d.summaries().regions[f].last.is_some() {
            "last"
        } else {
            "first"
        };
        assert!(last.get(want).is_some(), "final {want} dropped: {s}");
        assert_eq!(
            last["request_count"],
            d.summaries().regions[f].request_count
        );
    }
    // What is shown plus what was dropped adds up to what was there.
    if let Some(t) = v.get("truncated") {
        let summaries = d.summaries();
        let full = SummaryPlan::full(&summaries);
        let before: u64 = summaries
            .regions
            .iter()
            .zip(&full.regions)
            .map(|(r, p)| p.represented(r))
            .sum();
        let mut shown = 0u64;
        for key in ["regions", "metadata_requests"] {
            for r in v.get(key).and_then(|x| x.as_array()).into_iter().flatten() {
                shown += u64::from(r.get("first").is_some()) + u64::from(r.get("last").is_some());
                for g in r
                    .get("deduplicated_groups")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                {
                    shown += g["count"].as_u64().unwrap();
                }
            }
        }
        assert_eq!(
            shown + t["dropped_requests"].as_u64().unwrap(),
            before,
            "{t}"
        );
    }
    v
}

#[test]
fn a_thousand_regions_with_long_endpoints_fit_every_cap() {
    let mut rng = DetRng::new(11);
    let d = pathological(&mut rng, 1000, 1500, 3);
    for cap in [4096, 8192, 65_536, 1 << 22] {
        let v = check(&d, cap);
        if cap < 1 << 22 {
            let t = &v["truncated"];
            assert!(t["dropped_regions"].as_u64().unwrap() > 0, "{t}");
        }
    }
}

#[test]
fn huge_single_region_strings_are_bounded() {
    let mut rng = DetRng::new(3);
    let d = pathological(&mut rng, 1, 100_000, 0);
    let v = check(&d, 4096);
    let endpoint = v["regions"][0]["first"]["endpoint"].as_str().unwrap();
    assert!(endpoint.ends_with("..."));
}

#[test]
fn random_inputs_never_exceed_the_cap() {
    let mut rng = DetRng::new(2024);
    for case in 0..80 {
        let regions = 1 + rng.below(if case % 10 == 0 { 200 } else { 12 }) as usize;
        let endpoint_len = rng.below(if case % 7 == 0 { 4000 } else { 120 }) as usize;
        let groups = rng.below(30) as usize;
        let d = pathological(&mut rng, regions, endpoint_len, groups);
        let cap = 4096 + rng.below(30_000) as usize;
        check(&d, cap);
        check(&d, 4096);
    }
}

#[test]
fn pruning_drops_successful_and_small_groups_first() {
    let west: Arc<str> = Arc::from("West US 2");
    let mut f = Feeder::new();
    let ep = "https://a-westus2.documents.azure.com:443/dbs/db/colls/c/docs/x".to_string();
    // 40 distinct keys of 429s (count 3 each), 40 of 200s (count 1), one 503 key with count 2.
    let mut first = Attempt::new(&west, &ep, 429, 5);
    first.ctx = ExecutionContext::Initial;
    f.run(&first);
    for k in 0..40u32 {
        for _ in 0..3 {
            let mut a = Attempt::new(&west, &ep, 429, 5);
            a.sub_status = Some(k);
            f.run(&a);
        }
        let mut ok = Attempt::new(&west, &ep, 200, 5);
        ok.sub_status = Some(k);
        f.run(&ok);
    }
    for _ in 0..2 {
        f.run(&Attempt::new(&west, &ep, 503, 5));
    }
    f.run(&Attempt::new(&west, &ep, 503, 9));
    let d = f.finish(Some(503));
    let v = check(&d, 4096);
    let groups = v["regions"][0]["deduplicated_groups"].as_array().unwrap();
    assert!(!groups.is_empty());
    assert!(
        groups.iter().all(|g| g["status_code"] != 200),
        "successes go first"
    );
    // Among failures the smallest count goes first: the 503 group (count 2) is gone before
    // any 429 group (count 3) is.
    let has_503 = groups.iter().any(|g| g["status_code"] == 503);
    let n_429 = groups.iter().filter(|g| g["status_code"] == 429).count();
    assert!(!has_503 || n_429 == 40, "{groups:?}");
    assert_eq!(v["regions"][0]["last"]["status_code"], 503);
    assert_eq!(v["regions"][0]["last"]["duration_ms"], 9);
}

#[test]
fn detailed_output_is_uncapped_and_valid_for_hostile_strings() {
    let mut rng = DetRng::new(5);
    let region: Arc<str> = Arc::from(ugly(&mut rng, 50));
    let endpoint = ugly(&mut rng, 200);
    let mut f = Feeder::new();
    let mut a = Attempt::new(&region, &endpoint, 500, 3);
    let err = ugly(&mut rng, 100);
    a.error = Some(&err);
    f.run(&a);
    let d = f.finish(Some(500));
    let v: serde_json::Value =
        serde_json::from_str(&d.to_json_string(DiagnosticsVerbosity::Detailed)).unwrap();
    assert_eq!(v["requests"][0]["endpoint"].as_str().unwrap(), endpoint);
    assert_eq!(v["requests"][0]["region"].as_str().unwrap(), &*region);
    assert_eq!(v["requests"][0]["error"].as_str().unwrap(), err);
}
