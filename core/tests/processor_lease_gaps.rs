//! The change-feed processor makes a lease for every part of the key space that none covers,
//! not only when it finds no leases at all: a lease whose creation failed during the first
//! start (a 503 after the driver's retries, or the host stopping half-way) is made by a later
//! listing, so its range's changes are read.

// Test code: a failed expectation is a failed test; the test plays the transport and the
// lease store, which is where clocks are read.
#![allow(clippy::panic, clippy::disallowed_methods)]

use std::time::{Duration, Instant, SystemTime};

use sextant_core::changefeed::processor::{
    Command, Lease, Outcome, Processor, ProcessorOptions, Step,
};
use sextant_core::Now;

/// Runs one host for `secs` simulated seconds against an in-memory lease store, over the feed
/// ranges `ranges`; `fail_create(lease)` fails a create (once per call that returns true).
/// Returns the stored leases and the ranges read.
fn run(
    ranges: &[(&str, &str)],
    mut store: Vec<Lease>,
    secs: u64,
    mut fail_create: impl FnMut(&Lease) -> bool,
) -> (Vec<Lease>, Vec<(String, String)>) {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let at = |t: Instant| Now::new(t, wall0 + t.duration_since(t0));
    let mut p = Processor::new(ProcessorOptions::new("h0", "proc"), 1, at(t0));
    let feed: Vec<(String, String)> = ranges
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut read = Vec::new();
    let mut now = t0;
    for _ in 0..100_000 {
        match p.poll(at(now)) {
            Step::Run(id, c) => {
                let outcome = match &c {
                    Command::ListLeases => Outcome::Leases(store.clone()),
                    Command::ReadFeedRanges => Outcome::FeedRanges(feed.clone()),
                    Command::CreateLease(l) if fail_create(l) => Outcome::Failed("503".into()),
                    Command::CreateLease(l) if store.iter().any(|s| s.id == l.id) => {
                        Outcome::Conflict
                    }
                    Command::CreateLease(l) => {
                        let mut l = l.clone();
                        l.etag = Some("e1".into());
                        store.push(l.clone());
                        Outcome::Written(l)
                    }
                    Command::ReplaceLease(l) => {
                        let Some(s) = store.iter_mut().find(|s| s.id == l.id) else {
                            panic!("replace of a lease never created: {}", l.id)
                        };
                        let mut w = l.clone();
                        w.etag = Some(format!("{}x", s.etag.clone().unwrap_or_default()));
                        *s = w.clone();
                        Outcome::Written(w)
                    }
                    Command::ReadChanges { min, max, .. } => {
                        read.push((min.clone(), max.clone()));
                        Outcome::Changes {
                            items: Vec::new(),
                            continuation: "c".into(),
                            parts: Vec::new(),
                        }
                    }
                    other => panic!("unexpected command {other:?}"),
                };
                p.complete(id, outcome, at(now));
            }
            Step::Wait(until) => {
                now = until
                    .unwrap_or(now + Duration::from_secs(1))
                    .max(now + Duration::from_millis(1));
            }
            Step::Stopped => break,
        }
        if now > t0 + Duration::from_secs(secs) {
            break;
        }
    }
    (store, read)
}

fn bounds(store: &[Lease]) -> Vec<(String, String)> {
    let mut b: Vec<_> = store
        .iter()
        .map(|l| (l.min.clone(), l.max.clone()))
        .collect();
    b.sort();
    b
}

#[test]
fn a_lease_whose_first_create_failed_is_made_by_a_later_listing() {
    let mut failed = false;
    let (store, read) = run(&[("", "80"), ("80", "FF")], Vec::new(), 120, |l| {
        let fail = l.min == "80" && !failed;
        failed |= fail;
        fail
    });
    assert!(failed, "the create of [80, FF) failed once");
    assert_eq!(
        bounds(&store),
        [
            ("".to_string(), "80".to_string()),
            ("80".into(), "FF".into())
        ]
    );
    assert!(read.iter().any(|(lo, _)| lo == "80"), "[80, FF) is read");
}

#[test]
fn only_the_gaps_get_leases_where_leases_exist() {
    // A lease of [, 40) exists (a split child, say); the feed ranges are [, 80) and [80, FF).
    // The gap [40, FF) gets leases cut at the ranges' bounds, and nothing overlaps [, 40).
    let existing = Lease::new("proc", "", "40");
    let (store, _) = run(&[("", "80"), ("80", "FF")], vec![existing], 60, |_| false);
    assert_eq!(
        bounds(&store),
        [
            ("".to_string(), "40".to_string()),
            ("40".into(), "80".into()),
            ("80".into(), "FF".into())
        ]
    );
}

#[test]
fn leases_that_cover_the_key_space_get_no_more() {
    let existing = vec![Lease::new("proc", "", "80"), Lease::new("proc", "80", "FF")];
    let mut creates = 0;
    let (store, _) = run(&[("", "40"), ("40", "FF")], existing, 60, |_| {
        creates += 1;
        false
    });
    assert_eq!(
        creates, 0,
        "no lease is created where leases cover everything"
    );
    assert_eq!(store.len(), 2);
}
