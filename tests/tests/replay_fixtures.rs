//! Replays every recording under `tests/fixtures/recordings/` (captured from the local server
//! by `record_fixtures.rs`) on the core alone: no server, no I/O. A mismatch means the core
//! now decides differently on the same inputs; if the change is deliberate, regenerate the
//! fixtures (see `record_fixtures.rs`).

// Test code: a failed expectation is a failed test with its message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use sextant_core::models::AccountReference;
use sextant_core::replay::{self, ActionSummary, Recording};
use sextant_core::DriverOptions;

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
fn fixtures_expect_the_recorded_statuses() {
    // The conflict fixture ends 201, 201, 201, 409, 404, 204 (db, container, item, dup,
    // missing, delete database).
    let recordings = read_recordings();
    let (_, rec) = recordings
        .iter()
        .find(|(p, _)| p.ends_with("tokio_conflict_and_not_found.json"))
        .expect("conflict fixture");
    let account = AccountReference::with_master_key(&rec.endpoint, DUMMY_KEY).unwrap();
    let outcome = replay::replay(rec, account, DriverOptions::default(), Instant::now()).unwrap();
    let statuses: Vec<Option<u16>> = outcome
        .results
        .iter()
        .map(|r| match r.done {
            ActionSummary::Done { status, .. } => status,
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            Some(201),
            Some(201),
            Some(201),
            Some(409),
            Some(404),
            Some(204)
        ]
    );
}
