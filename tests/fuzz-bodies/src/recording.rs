//! `recording`: [`Recording::from_json`] and [`replay`] on arbitrary files. A recording is
//! input a user hands the core (a file from production, perhaps edited), so no content may
//! panic or hang it; what is wrong must come back as a [`sextant_core::replay::RecordingError`] or a
//! [`sextant_core::replay::ReplayMismatch`].
//!
//! Checks: a file that parses survives its JSON form unchanged; a replay is deterministic (two
//! replays agree, mismatch or outcome), and a successful one replayed every entry.

use std::time::Instant;

use super::{ensure, Violation};
use sextant_core::models::AccountReference;
use sextant_core::replay::{replay, Recording};
use sextant_core::DriverOptions;

const T: &str = "recording";

/// Any valid key: replay does not compare signatures.
const KEY: &str = "ZnV6eiBrZXk7IHNpZ25hdHVyZXMgYXJlIG5vdCBjb21wYXJlZA==";

/// Runs the target on `data`, a recording's JSON (UTF-8 or not). `base` anchors replay's
/// virtual clock.
pub fn recording(data: &[u8], base: Instant) -> Result<(), Violation> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(rec) = Recording::from_json(text) else {
        return Ok(());
    };
    let json = rec
        .to_json()
        .map_err(|e| Violation::new(T, format!("a parsed recording does not serialize: {e}")))?;
    let back = Recording::from_json(&json)
        .map_err(|e| Violation::new(T, format!("a serialized recording does not parse: {e}")))?;
    ensure!(T, back == rec, "the recording changed through JSON");

    let Ok(account) = AccountReference::with_master_key(&rec.endpoint, KEY) else {
        return Ok(());
    };
    let first = replay(&rec, account.clone(), DriverOptions::default(), base);
    let second = replay(&rec, account, DriverOptions::default(), base);
    ensure!(
        T,
        first == second,
        "two replays of one recording differ: {first:?} then {second:?}"
    );
    if let Ok(outcome) = &first {
        ensure!(
            T,
            outcome.entries == rec.entries.len(),
            "a successful replay covered {} of {} entries",
            outcome.entries,
            rec.entries.len()
        );
        ensure!(
            T,
            outcome.results.len() <= outcome.executions,
            "{} results from {} executions",
            outcome.results.len(),
            outcome.executions
        );
    }
    Ok(())
}
