//! Record and replay: capture one driver's exchange (operations started, actions returned,
//! responses, transport errors, events, token results, with the times and the RNG seed fed to
//! the core) and feed it back to a fresh [`crate::Driver`] to check it produces the same actions.
//!
//! Recording: [`crate::Driver::start_recording`] (transports expose it as
//! `CosmosDriver::start_recording`), run the operation, [`crate::Driver::take_recording`], then
//! [`Recording::to_json`]. Writing the file is the caller's business: the core does no I/O.
//!
//! Replay: [`replay`] builds a driver with the recorded seed and walks the entries in order. Each
//! recorded `Poll` is compared with what the replayed core returns ([`ActionSummary`]); the first
//! difference is a [`ReplayMismatch`] naming the entry.
//!
//! Secrets are not recorded: the `authorization` header of requests is dropped from the
//! summaries, credential-like response headers are replaced with `<redacted>`, Entra ID tokens
//! are reduced to their expiry (replay feeds a placeholder token), and the account key is never
//! part of a recording (replay signs with whatever credential the caller passes; signatures are
//! not compared). Request and response **bodies are recorded**: they are your data.

mod format;
mod recorder;
mod replayer;

pub use format::{
    ActionSummary, Entry, EntryEvent, RecordedOperation, RecordedOptions, Recording,
    RecordingError, FORMAT_VERSION,
};
pub(crate) use recorder::{record_poll, RecordedStart, Recorder};
pub use recorder::{MAX_BODY_BYTES, MAX_ENTRIES, REDACTED, REDACTED_HEADERS};
pub use replayer::{
    parse_partition_key, replay, ReplayMismatch, ReplayOutcome, ReplayedResult, PLACEHOLDER_TOKEN,
};
