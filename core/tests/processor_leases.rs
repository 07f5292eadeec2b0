//! The change-feed processor's lease writes when the lease store fails them:
//! - it makes a lease for every part of the key space that none covers, not only when it finds
//!   no leases at all: a lease whose creation failed during the first start (a 503 after the
//!   driver's retries, or the host stopping half-way) is made by a later listing, so its
//!   range's changes are read;
//! - a checkpoint that fails goes again after the poll delay, not at once: an outage of the
//!   lease container is not met with a tight loop of requests.

// Test code: a failed expectation is a failed test; the test plays the transport and the
// lease store, which is where clocks are read.
#![allow(clippy::panic, clippy::disallowed_methods)]

use std::time::{Duration, Instant, SystemTime};

use sextant_core::changefeed::processor::{
    Command, Lease, Outcome, Processor, ProcessorOptions, Step,
};
use sextant_core::Now;

/// What a run did: the stored leases, the ranges read, and the lease replaces issued.
struct Ran {
    store: Vec<Lease>,
    read: Vec<(String, String)>,
    replaces: usize,
}

/// Runs one host for `secs` simulated seconds against an in-memory lease store, over the feed
/// ranges `ranges`; a command for which `fail(command)` returns true fails with a 503. With
/// `changes`, each read returns one change (then a delivery and a checkpoint follow it);
/// otherwise none.
fn run(
    ranges: &[(&str, &str)],
    mut store: Vec<Lease>,
    secs: u64,
    changes: bool,
    mut fail: impl FnMut(&Command) -> bool,
) -> Ran {
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let at = |t: Instant| Now::new(t, wall0 + t.duration_since(t0));
    let mut p = Processor::new(ProcessorOptions::new("h0", "proc"), 1, at(t0));
    let feed: Vec<(String, String)> = ranges
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut read = Vec::new();
    let mut replaces = 0;
    let mut now = t0;
    for _ in 0..100_000 {
        match p.poll(at(now)) {
            Step::Run(id, c) => {
                replaces += usize::from(matches!(c, Command::ReplaceLease(_)));
                let outcome = match &c {
                    _ if fail(&c) => Outcome::Failed("503".into()),
                    Command::ListLeases => Outcome::Leases(store.clone()),
                    Command::ReadFeedRanges => Outcome::FeedRanges(feed.clone()),
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
                            items: if changes {
                                vec![serde_json::json!({"id": "a"})]
                            } else {
                                Vec::new()
                            },
                            // An empty page leaves the position where it was.
                            continuation: if changes {
                                format!("c{}", read.len())
                            } else {
                                "c".into()
                            },
                            parts: Vec::new(),
                        }
                    }
                    Command::Deliver { .. } => Outcome::Delivered,
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
    Ran {
        store,
        read,
        replaces,
    }
}

fn bounds(store: &[Lease]) -> Vec<(String, String)> {
    let mut b: Vec<_> = store
        .iter()
        .map(|l| (l.min.clone(), l.max.clone()))
        .collect();
    b.sort();
    b
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_lease_whose_first_create_failed_is_made_by_a_later_listing() {
    let mut failed = false;
    let ran = run(&[("", "80"), ("80", "FF")], Vec::new(), 120, false, |c| {
        let fail = !failed && matches!(c, Command::CreateLease(l) if l.min == "80");
        failed |= fail;
        fail
    });
    assert!(failed, "the create of [80, FF) failed once");
    assert_eq!(bounds(&ran.store), pairs(&[("", "80"), ("80", "FF")]));
    assert!(
        ran.read.iter().any(|(lo, _)| lo == "80"),
        "[80, FF) is read"
    );
}

#[test]
fn only_the_gaps_get_leases_where_leases_exist() {
    // A lease of [, 40) exists (a split child, say); the feed ranges are [, 80) and [80, FF).
    // The gap [40, FF) gets leases cut at the ranges' bounds, and nothing overlaps [, 40).
    let existing = Lease::new("proc", "", "40");
    let ran = run(
        &[("", "80"), ("80", "FF")],
        vec![existing],
        60,
        false,
        |_| false,
    );
    assert_eq!(
        bounds(&ran.store),
        pairs(&[("", "40"), ("40", "80"), ("80", "FF")])
    );
}

#[test]
fn leases_that_cover_the_key_space_get_no_more() {
    let existing = vec![Lease::new("proc", "", "80"), Lease::new("proc", "80", "FF")];
    let mut creates = 0;
    let ran = run(&[("", "40"), ("40", "FF")], existing, 60, false, |c| {
        creates += usize::from(matches!(c, Command::CreateLease(_)));
        false
    });
    assert_eq!(
        creates, 0,
        "no lease is created where leases cover everything"
    );
    assert_eq!(ran.store.len(), 2);
}

#[test]
fn a_failed_checkpoint_goes_again_after_the_poll_delay() {
    // Every checkpoint fails (the lease container is down for them; a checkpoint is a replace
    // that carries a continuation), renewals succeed.
    let mut failed = 0;
    let ran = run(&[("", "FF")], Vec::new(), 60, true, |c| {
        let fail = matches!(c, Command::ReplaceLease(l) if l.continuation.is_some());
        failed += usize::from(fail);
        fail
    });
    // One checkpoint attempt per 5 s poll delay and a renewal every 17 s: about 15 in a
    // minute. Reissued at once, it was one per simulated millisecond.
    assert!(failed > 0, "checkpoints failed");
    assert!(
        ran.replaces <= 20,
        "{} lease replaces in 60 s while checkpoints failed",
        ran.replaces
    );
}
