//! Replays every recording under `tests/fixtures/recordings/` (captured from the local server
//! by `record_replay.rs`) on the core alone: no server, no I/O. A mismatch means the core
//! now decides differently on the same inputs; if the change is deliberate, regenerate the
//! fixtures (see `record_replay.rs`).

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use sextant_core::models::AccountReference;
use sextant_core::replay::{self, ActionSummary, Recording};
use sextant_core::DriverOptions;
use sextant_tests::recording::replayed_statuses;

/// Any valid key: replay does not compare signatures.
const DUMMY_KEY: &str = "ZHVtbXkga2V5IGZvciByZXBsYXk7IHNpZ25hdHVyZXMgYXJlIG5vdCBjb21wYXJlZA==";

fn read_recordings() -> Vec<(PathBuf, Recording)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/recordings");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let json = std::fs::read_to_string(&p).expect("fixture");
            let rec =
                Recording::from_json(&json).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, rec)
        })
        .collect()
}

#[test]
fn every_fixture_replays_without_a_mismatch() {
    let recordings = read_recordings();
    assert!(!recordings.is_empty(), "no fixtures found");
    for (path, rec) in recordings {
        assert!(rec.cold, "{}: recorded on a warm driver", path.display());
        let account = AccountReference::with_master_key(&rec.endpoint, DUMMY_KEY).unwrap();
        let outcome = replay::replay(&rec, account, DriverOptions::default(), Instant::now())
            .unwrap_or_else(|m| panic!("{}: {m}", path.display()));
        assert_eq!(outcome.executions, rec.executions());
        assert_eq!(
            outcome.results.len(),
            outcome.executions,
            "{}: every recorded operation finished",
            path.display()
        );
        assert!(outcome
            .results
            .iter()
            .all(|r| matches!(r.done, ActionSummary::Done { .. })));
    }
}

#[test]
fn fixtures_cover_every_transport_and_expect_the_recorded_statuses() {
    // Database, container, item, duplicate, missing item, database deleted.
    let conflict = [201, 201, 201, 409, 404, 204];
    // Database, container, then create, read, replace, delete of the item; database deleted.
    let crud = [201, 201, 201, 200, 200, 204, 204];
    let recordings = read_recordings();
    for transport in ["tokio", "blocking", "async_std"] {
        for (scenario, expected) in [
            ("conflict_and_not_found", &conflict[..]),
            ("item_crud", &crud[..]),
        ] {
            let name = format!("{transport}_{scenario}.json");
            let (_, rec) = recordings
                .iter()
                .find(|(p, _)| p.ends_with(&name))
                .unwrap_or_else(|| panic!("no fixture {name}"));
            let account = AccountReference::with_master_key(&rec.endpoint, DUMMY_KEY).unwrap();
            let options = DriverOptions::default();
            let outcome = replay::replay(rec, account, options, Instant::now()).unwrap();
            let expected: Vec<Option<u16>> = expected.iter().copied().map(Some).collect();
            assert_eq!(replayed_statuses(&outcome), expected, "{name}");
        }
    }
}

#[test]
fn replay_refuses_options_other_than_the_recorded_ones() {
    let recordings = read_recordings();
    let (path, rec) = recordings.first().expect("a fixture");
    assert!(
        rec.options.is_some(),
        "{}: recorded without its DriverOptions",
        path.display()
    );
    let account = AccountReference::with_master_key(&rec.endpoint, DUMMY_KEY).unwrap();
    let other = DriverOptions::builder()
        .max_throttle_retries(3)
        .build()
        .unwrap();
    let mismatch = replay::replay(rec, account, other, Instant::now()).unwrap_err();
    assert_eq!(mismatch.entry, 0);
    assert!(
        mismatch.reason.contains("max_throttle_retries: Some(3)"),
        "{mismatch}"
    );
}

#[test]
fn a_changed_response_is_reported_where_the_decisions_part() {
    let recordings = read_recordings();
    let (_, rec) = recordings
        .iter()
        .find(|(p, _)| p.ends_with("blocking_conflict_and_not_found.json"))
        .expect("conflict fixture");
    // Turn the duplicate create's 409 into a 503: the core now decides to do something else.
    let mut tampered = rec.clone();
    let at = tampered
        .entries
        .iter()
        .position(|e| matches!(e.event, replay::EntryEvent::Response { status: 409, .. }))
        .expect("a 409 response");
    if let replay::EntryEvent::Response { status, .. } = &mut tampered.entries[at].event {
        *status = 503;
    }
    let account = AccountReference::with_master_key(&rec.endpoint, DUMMY_KEY).unwrap();
    let mismatch =
        replay::replay(&tampered, account, DriverOptions::default(), Instant::now()).unwrap_err();
    assert!(mismatch.entry > at, "{mismatch}");
    assert!(
        mismatch.expected.is_some() && mismatch.actual.is_some(),
        "{mismatch}"
    );
}
