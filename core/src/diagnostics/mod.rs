//! Diagnostics: per-operation and per-attempt records, bounded in memory and in output size.
//!
//! - [`CosmosDiagnostics`]: everything about one operation, immutable once it ends.
//!   [`CosmosDiagnostics::to_json_string`] renders the seed's two JSON forms:
//!   [`DiagnosticsVerbosity::Detailed`] (every retained request) and
//!   [`DiagnosticsVerbosity::Summary`] (grouped by region, first and last request in full, the
//!   middle deduplicated, capped at [`DiagnosticsOptions::max_summary_size_bytes`] by
//!   progressive pruning).
//! - Memory is bounded by regions and deduplication groups, not attempts: see the builder
//!   limits [`MAX_RECORDED_REQUESTS`], [`MAX_REGIONS`], [`MAX_DEDUP_GROUPS`] and
//!   [`CosmosDiagnostics::retained_entries`].
//! - [`DiagnosticsThresholds`] decides, as a pure function of an [`OperationSummary`], whether
//!   an operation is worth logging; [`LogRateLimiter`] keeps a storm from flooding the logs.
//!   The core emits no log records: transports do, with these two.

mod builder;
mod cosmos;
mod detailed;
mod group;
mod json;
mod options;
mod prune;
mod rate_limit;
mod record;
mod region;
mod render;
mod stats;
mod summaries;
mod summary;
mod thresholds;

#[cfg(test)]
mod tests;

pub(crate) use builder::DiagnosticsBuilder;
pub use builder::{HEAD_RECORDS, MAX_OPEN_TAIL, TAIL_RECORDS};
pub use cosmos::CosmosDiagnostics;
pub use options::{
    DiagnosticsOptions, DiagnosticsOptionsBuilder, DiagnosticsVerbosity,
    DEFAULT_MAX_SUMMARY_SIZE_BYTES, MIN_MAX_SUMMARY_SIZE_BYTES,
};
pub use rate_limit::{LogPermit, LogRateLimiter, DEFAULT_LOG_BURST, DEFAULT_LOG_REFILL_INTERVAL};
pub use record::{
    AttemptUrl, EventRecord, Events, ExecutionContext, RequestDiagnostics, ServiceActivityId,
};
pub use stats::MAX_EXACT_SAMPLES;
pub use thresholds::{
    is_point_operation, DiagnosticsThresholds, OperationSummary, ThresholdViolations,
    DEFAULT_NON_POINT_OPERATION_LATENCY_THRESHOLD, DEFAULT_POINT_OPERATION_LATENCY_THRESHOLD,
    DEFAULT_REQUEST_CHARGE_THRESHOLD,
};

/// Full request records kept per operation: the first [`HEAD_RECORDS`] attempts and the last
/// [`TAIL_RECORDS`]. Later attempts still count in [`CosmosDiagnostics::request_count`] and in
/// the region summaries; [`CosmosDiagnostics::dropped_requests`] says how many are not kept.
pub const MAX_RECORDED_REQUESTS: usize = 64;
/// At most this many events are recorded per attempt.
pub const MAX_EVENTS_PER_REQUEST: usize = 8;
/// Regions (per purpose) summarised per operation; attempts in further regions are only
/// counted (`other_regions` in the Summary). Far above any account's region count.
pub const MAX_REGIONS: usize = 128;
/// Deduplication groups per operation; middle requests with a new key beyond it are folded
/// into their region's `other` entry.
pub const MAX_DEDUP_GROUPS: usize = 256;
