//! The recording file format (JSON, `format: 2`).

use serde::{Deserialize, Serialize};

/// The format version written in [`Recording::format`]. [`Recording::from_json`] also reads
/// version 1, whose wall times were `u64` (a subset of version 2's `i128`, same meaning).
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version [`Recording::from_json`] reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// One driver's recorded exchange. Serialize with [`Recording::to_json`].
///
/// Times: `t_ns` is monotonic nanoseconds relative to the first recorded `now` (negative when a
/// concurrent caller read its clock earlier); `wall_ns` is wall-clock nanoseconds since the UNIX
/// epoch (the core uses it for `x-ms-date` and token expiry), signed and 128 bits wide so that
/// every `SystemTime` the platform can hold, before the epoch or after year 2554, round-trips
/// exactly. Nanoseconds keep every timer comparison exact on replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Always [`FORMAT_VERSION`].
    pub format: u32,
    /// The RNG seed of the driver when recording started (jitter, activity ids).
    pub seed: u64,
    /// The first attempt id the recorded driver handed out.
    pub first_attempt: u64,
    /// True when the driver had sent nothing before recording started. A warm recording
    /// depends on cached state (account, containers, sessions) that is not recorded and
    /// usually does not replay.
    pub cold: bool,
    /// The account endpoint (replay targets the same URLs).
    pub endpoint: String,
    /// The credential kind: `master_key`, `resource_tokens` or `token_credential`. Replay
    /// needs a credential of the same kind (its secret is never recorded).
    pub credential: String,
    /// The `DriverOptions` the recorded driver was built with (after the runtime layered its
    /// own and the environment's), in their `Debug` form. Replay refuses other options and
    /// names the first difference; `None` in format 1, whose replays take the options on trust.
    #[serde(default)]
    pub options: Option<String>,
    /// The recording hit [`super::MAX_ENTRIES`] or [`super::MAX_BODY_BYTES`] and stopped;
    /// the entries are a prefix of the exchange.
    pub truncated: bool,
    /// Every recorded call, in call order.
    pub entries: Vec<Entry>,
}

/// One call into the core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The execution it concerns (numbered from 0 in start order); `None` for a token fed to
    /// the driver directly.
    pub exec: Option<u32>,
    /// Monotonic time passed with the call, ns relative to the first recorded call.
    pub t_ns: i64,
    /// Wall-clock time passed with the call, ns since the UNIX epoch (negative before it).
    pub wall_ns: i128,
    /// What happened.
    pub event: EntryEvent,
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryEvent {
    /// `Driver::start`.
    Start {
        /// The operation.
        op: Box<RecordedOperation>,
        /// Its options.
        options: Box<RecordedOptions>,
    },
    /// `Execution::poll` and the action it returned.
    Poll {
        /// What the core returned.
        action: ActionSummary,
    },
    /// `Execution::handle_response`.
    Response {
        /// Attempt id.
        attempt: u64,
        /// HTTP status.
        status: u16,
        /// Headers in received order (credential-like ones redacted).
        headers: Vec<(String, String)>,
        /// The body, standard base64.
        body_base64: String,
    },
    /// `Execution::handle_transport_error`.
    TransportError {
        /// Attempt id.
        attempt: u64,
        /// `TransportErrorKind::as_str`.
        kind: String,
        /// `RequestSent::as_str`.
        request_sent: String,
        /// The transport's message.
        message: String,
    },
    /// `Execution::handle_event`.
    Event {
        /// Attempt id.
        attempt: u64,
        /// `RequestEventKind::as_str`.
        kind: String,
        /// Optional detail.
        details: Option<String>,
    },
    /// `Execution::handle_token` (the token value is not recorded).
    Token {
        /// Whether the credential returned a token.
        ok: bool,
        /// Its expiry, ns since the UNIX epoch (negative before it).
        expires_on_ns: Option<i128>,
        /// The credential's error message.
        error: Option<String>,
    },
    /// A cross-partition query page continues from the state its pager kept (ADR 0005): the
    /// plan, the producers and the rows they had buffered, as JSON.
    FanoutState {
        /// The state.
        state: serde_json::Value,
    },
    /// `Driver::handle_token` called directly (a background refresh).
    DriverToken {
        /// Whether the credential returned a token.
        ok: bool,
        /// Its expiry, ns since the UNIX epoch (negative before it).
        expires_on_ns: Option<i128>,
        /// The credential's error message.
        error: Option<String>,
    },
    /// `Execution::cancel`.
    Cancel,
}

/// A `CosmosOperation` in raw parts (the account is the replay's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedOperation {
    /// `OperationKind::as_str`.
    pub kind: String,
    /// `ResourceType::token` (`""` for the account).
    pub resource_type: String,
    /// Signed resource link.
    pub link: String,
    /// URL path.
    pub path: String,
    /// `x-ms-documentdb-partitionkey` header value.
    pub partition_key: Option<String>,
    /// Body, standard base64.
    pub body_base64: Option<String>,
    /// A construction problem (reported on the first poll), as text.
    pub problem: Option<String>,
    /// Container (link, path) of item operations.
    pub container: Option<(String, String)>,
    /// Headers the operation itself adds (throughput, token expiry, triggers, raw requests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// A raw (escape hatch) request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
}

/// The recorded `OperationOptions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedOptions {
    /// `if-match`.
    pub if_match: Option<String>,
    /// `if-none-match`.
    pub if_none_match: Option<String>,
    /// `x-ms-session-token`.
    pub session_token: Option<String>,
    /// `ConsistencyLevel::as_str`.
    pub consistency_level: Option<String>,
    /// Content response on write.
    pub content_response_on_write: Option<bool>,
    /// Custom headers.
    pub custom_headers: Vec<(String, String)>,
    /// End-to-end timeout, ns.
    pub end_to_end_timeout_ns: Option<u64>,
    /// Non-idempotent write retries.
    pub retry_non_idempotent_writes: Option<bool>,
    /// Excluded regions.
    pub excluded_regions: Vec<String>,
    /// Hedging.
    pub hedging: Option<bool>,
    /// A problem with the options (reported on the first poll), as text.
    pub problem: Option<String>,
    /// Feeds and queries: `x-ms-max-item-count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_item_count: Option<u32>,
    /// Feeds and queries: the continuation the page started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<String>,
    /// Cross-partition queries: ranges queried at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<usize>,
    /// Queries: query metrics asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub populate_query_metrics: bool,
    /// Queries: index metrics asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub populate_index_metrics: bool,
    /// The query pager's hierarchical-prefix check of a first page (its token fingerprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_check: Option<String>,
}

/// What an action returned by `poll` is compared on. Contains no secret: the `authorization`
/// header is left out (signatures differ with the replay's credential), and so is `user-agent`
/// (it carries the crate version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionSummary {
    /// `Action::Send`.
    Send {
        /// Attempt id.
        attempt: u64,
        /// HTTP method.
        method: String,
        /// Absolute URL.
        uri: String,
        /// Headers sorted by name, without `authorization` and `user-agent`.
        headers: Vec<(String, String)>,
        /// Body length.
        body_len: usize,
        /// Body SHA-256, lowercase hex.
        body_sha256: String,
        /// `Purpose::as_str`.
        purpose: String,
        /// Target region.
        region: String,
        /// `ExecutionContext::as_str`.
        context: String,
        /// Attempt deadline, ns relative to the first recorded call.
        deadline_ns: i64,
        /// Largest response body accepted.
        max_response_bytes: usize,
    },
    /// `Action::Abort`.
    Abort {
        /// Attempt id.
        attempt: u64,
    },
    /// `Action::AcquireToken`.
    AcquireToken {
        /// Scopes.
        scopes: Vec<String>,
    },
    /// `Action::Wait`.
    Wait {
        /// Wake-up time, ns relative to the first recorded call.
        until_ns: Option<i64>,
    },
    /// `Action::Done`.
    Done {
        /// Success or failure.
        ok: bool,
        /// HTTP status (response or service error).
        status: Option<u16>,
        /// Sub-status.
        sub_status: Option<u32>,
        /// `ErrorKind` (Debug spelling) of a failure.
        kind: Option<String>,
    },
    /// An action this version of the format does not know.
    Other {
        /// Debug spelling.
        debug: String,
    },
}

/// A recording could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// Not JSON of the expected shape.
    #[error("invalid recording JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A format version this build does not read.
    #[error(
        "recording format {found} is not supported (expected {OLDEST_FORMAT_VERSION}..={FORMAT_VERSION})"
    )]
    UnsupportedFormat {
        /// The version found.
        found: u32,
    },
}

impl Recording {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, RecordingError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Parses JSON written by [`Recording::to_json`].
    pub fn from_json(json: &str) -> Result<Recording, RecordingError> {
        let r: Recording = serde_json::from_str(json)?;
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&r.format) {
            return Err(RecordingError::UnsupportedFormat { found: r.format });
        }
        Ok(r)
    }

    /// Executions started in the recording.
    pub fn executions(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.event, EntryEvent::Start { .. }))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(format: u32, wall: &str) -> String {
        format!(
            r#"{{"format":{format},"seed":1,"first_attempt":1,"cold":true,
            "endpoint":"https://a.documents.azure.com:443/","credential":"master_key",
            "truncated":false,"entries":[{{"exec":null,"t_ns":0,"wall_ns":{wall},
            "event":{{"driver_token":{{"ok":true,"expires_on_ns":{wall},"error":null}}}}}}]}}"#
        )
    }

    #[test]
    fn format_1_files_still_read_and_wide_wall_times_survive_json() {
        let old = Recording::from_json(&minimal(1, "18446744073709551615")).unwrap();
        assert_eq!(old.entries[0].wall_ns, i128::from(u64::MAX));
        let wide = "-170141183460469231731687303715884105728";
        let rec = Recording::from_json(&minimal(2, wide)).unwrap();
        assert_eq!(rec.entries[0].wall_ns, i128::MIN);
        let back = Recording::from_json(&rec.to_json().unwrap()).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn unknown_formats_are_rejected_by_number() {
        for v in [0, FORMAT_VERSION + 1] {
            match Recording::from_json(&minimal(v, "0")) {
                Err(RecordingError::UnsupportedFormat { found }) => assert_eq!(found, v),
                other => panic!("format {v}: {other:?}"),
            }
        }
    }
}
