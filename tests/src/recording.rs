//! Record-and-replay through a real transport: the scripted exchanges the committed fixtures
//! hold (`tests/fixtures/recordings/`), and the check every transport's suite runs live
//! against the local server (record, save as JSON, read back, replay on the core alone).

use std::time::{Duration, Instant};

use serde_json::json;
use sextant_core::models::{AccountReference, ContainerReference, ItemReference, PartitionKey};
use sextant_core::replay::{self, ActionSummary, Recording};
use sextant_core::{CosmosOperation, DriverOptions, OperationOptions};

use crate::scenarios::{self, Client, AWKWARD_IDS};

/// A transport's driver that records, as the shared checks see it.
pub trait Recorder: Client {
    /// `start_recording` on the transport's driver.
    fn start_recording(&self);
    /// `take_recording` on the transport's driver.
    fn take_recording(&self) -> Option<Recording>;
    /// The options the driver was built with (what a replay must be given).
    fn driver_options(&self) -> DriverOptions;
}

/// Implements [`Recorder`] for a transport's test client: `impl_recorder!(Client, self =>
/// self.driver)`, the expression naming the transport's `CosmosDriver` (every transport has
/// `start_recording`, `take_recording` and `core`).
#[macro_export]
macro_rules! impl_recorder {
    ($ty:ty, $self_:ident => $driver:expr) => {
        impl $crate::recording::Recorder for $ty {
            fn start_recording(&$self_) {
                $driver.start_recording();
            }
            fn take_recording(&$self_) -> Option<::sextant_core::replay::Recording> {
                $driver.take_recording()
            }
            fn driver_options(&$self_) -> ::sextant_core::DriverOptions {
                $driver.core().lock().options().clone()
            }
        }
    };
}

/// A scripted exchange: runs operations and returns their statuses in order.
pub type Scenario = fn(&dyn Client, &AccountReference) -> Vec<u16>;

/// The exchanges recorded as fixtures, by name.
pub const SCENARIOS: [(&str, Scenario); 2] = [
    ("item_crud", item_crud),
    ("conflict_and_not_found", conflict_and_not_found),
];

/// The id with every awkward character at once (path encoding and signing).
const AWKWARD_ID: &str = AWKWARD_IDS[AWKWARD_IDS.len() - 1];

fn status(client: &dyn Client, op: CosmosOperation) -> u16 {
    let opts = OperationOptions::new().with_end_to_end_timeout(Duration::from_secs(30));
    match client.execute(op, opts) {
        Ok(r) => r.status(),
        Err(e) => e.status().unwrap_or_else(|| panic!("no status: {e}")),
    }
}

/// Creates a database and a container (both asserted 201 by the shared scenario helper) and
/// notes their statuses.
fn database_and_container(
    client: &dyn Client,
    account: &AccountReference,
    statuses: &mut Vec<u16>,
) -> ContainerReference {
    let (_db, container) = scenarios::create_database_and_container(client, account);
    statuses.extend([201, 201]);
    container
}

/// Database and container, then create, read, replace and delete of an item with an awkward
/// id, then the database is deleted: 201 201 201 200 200 204 204.
pub fn item_crud(client: &dyn Client, account: &AccountReference) -> Vec<u16> {
    let mut statuses = Vec::new();
    let container = database_and_container(client, account, &mut statuses);
    let pk = || PartitionKey::from("pk é");
    let body = json!({ "id": AWKWARD_ID, "pk": "pk é", "n": 1 }).to_string();
    let create = CosmosOperation::create(container.clone())
        .with_partition_key(pk())
        .with_body(body);
    statuses.push(status(client, create));
    let item = ItemReference::in_container(&container, AWKWARD_ID);
    let read = CosmosOperation::read(item.clone()).with_partition_key(pk());
    statuses.push(status(client, read));
    let body = json!({ "id": AWKWARD_ID, "pk": "pk é", "n": 2 }).to_string();
    let replace = CosmosOperation::replace(item.clone())
        .with_partition_key(pk())
        .with_body(body);
    statuses.push(status(client, replace));
    let delete = CosmosOperation::delete(item).with_partition_key(pk());
    statuses.push(status(client, delete));
    let db = container.database().clone();
    statuses.push(status(client, CosmosOperation::delete_database(db)));
    statuses
}

/// Database and container, an item created twice (409) and a missing one read (404), then the
/// database is deleted: 201 201 201 409 404 204.
pub fn conflict_and_not_found(client: &dyn Client, account: &AccountReference) -> Vec<u16> {
    let mut statuses = Vec::new();
    let container = database_and_container(client, account, &mut statuses);
    let body = json!({ "id": "dup", "pk": "p" }).to_string();
    let create = || {
        CosmosOperation::create(container.clone())
            .with_partition_key(PartitionKey::from("p"))
            .with_body(body.clone())
    };
    statuses.push(status(client, create()));
    statuses.push(status(client, create()));
    let missing = ItemReference::in_container(&container, "missing");
    let read = CosmosOperation::read(missing).with_partition_key(PartitionKey::from("p"));
    statuses.push(status(client, read));
    let db = container.database().clone();
    statuses.push(status(client, CosmosOperation::delete_database(db)));
    statuses
}

/// Replays `recording` on the core alone with `client`'s driver options and another key.
pub fn replay_outcome(
    client: &dyn Recorder,
    recording: &Recording,
) -> Result<replay::ReplayOutcome, replay::ReplayMismatch> {
    let key = "cmVwbGF5IGtleTsgc2lnbmF0dXJlcyBhcmUgbm90IGNvbXBhcmVk";
    let account =
        AccountReference::with_master_key(&recording.endpoint, key).expect("replay account");
    replay::replay(recording, account, client.driver_options(), Instant::now())
}

/// [`replay_outcome`] for a recording that must be complete: the entries replayed.
pub fn replay_matches(
    client: &dyn Recorder,
    recording: &Recording,
) -> Result<usize, replay::ReplayMismatch> {
    assert!(recording.cold, "recorded on a driver that had sent before");
    assert!(!recording.truncated, "recording truncated");
    replay_outcome(client, recording).map(|o| o.entries)
}

/// The final status of every execution a replay finished, in start order.
pub fn replayed_statuses(outcome: &replay::ReplayOutcome) -> Vec<Option<u16>> {
    outcome
        .results
        .iter()
        .map(|r| match &r.done {
            ActionSummary::Done { status, .. } => *status,
            _ => None,
        })
        .collect()
}

/// Runs `scenario` on `client` (a driver that has sent nothing yet) while recording, then
/// checks what a user relies on:
///
/// * the recording is cold, complete, and survives its JSON form unchanged;
/// * the JSON holds neither `key`, nor a signature, nor an `authorization` header;
/// * replaying it on the core alone, with the driver's options and a different key, takes
///   every recorded action and ends every operation with the status the live run saw.
///
/// Returns the recording (the fixture generator saves it).
pub fn record_and_replay(
    client: &dyn Recorder,
    account: &AccountReference,
    key: &str,
    scenario: Scenario,
) -> Recording {
    client.start_recording();
    let live = scenario(client, account);
    let recording = client.take_recording().expect("the driver was recording");
    assert!(recording.cold, "recorded on a driver that had sent before");
    assert!(!recording.truncated, "recording truncated");
    assert_eq!(
        recording.executions(),
        live.len(),
        "one execution per operation"
    );

    let json = recording.to_json().expect("recording JSON");
    assert!(!json.contains(key), "the account key is in the recording");
    assert!(
        !json.contains("sig%3D") && !json.contains("sig="),
        "a signature is in the recording"
    );
    assert!(
        !json.to_ascii_lowercase().contains("\"authorization\""),
        "an authorization header is in the recording"
    );
    let back = Recording::from_json(&json).expect("recording reads back");
    assert_eq!(back, recording, "the recording changed through JSON");

    let outcome = replay_outcome(client, &back).unwrap_or_else(|m| panic!("replay diverged: {m}"));
    assert_eq!(outcome.entries, back.entries.len());
    let live: Vec<Option<u16>> = live.into_iter().map(Some).collect();
    assert_eq!(
        replayed_statuses(&outcome),
        live,
        "replay ends as the live run"
    );
    recording
}
