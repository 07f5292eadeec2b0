//! `CosmosDiagnostics`: the finished, immutable diagnostics of one operation.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use super::detailed::write_detailed;
use super::json::JsonWriter;
use super::options::{DiagnosticsOptions, DiagnosticsVerbosity};
use super::prune::render_summary;
use super::record::RequestDiagnostics;
use super::region::RecordRef;
use super::summaries::Summaries;
use crate::ids::ActivityId;

/// Diagnostics of one operation across all of its attempts. Immutable once the operation ends.
#[derive(Debug, Clone, PartialEq)]
pub struct CosmosDiagnostics {
    pub(crate) activity_id: ActivityId,
    pub(crate) duration: Duration,
    pub(crate) status: Option<u16>,
    pub(crate) sub_status: Option<u32>,
    pub(crate) total_request_charge: f64,
    /// Retained full records, in start order.
    pub(crate) requests: Vec<RequestDiagnostics>,
    /// Region summaries built while running (only when attempts outnumbered the retained
    /// records); `None` means they are derived from `requests` when needed.
    pub(crate) summaries: Option<Box<Summaries>>,
    pub(crate) request_count: u64,
    pub(crate) ignored_inputs: u64,
    /// The Summary size cap of the driver that produced these diagnostics (its
    /// `DiagnosticsOptions`), used by [`Self::to_json_string`].
    pub(crate) max_summary_size_bytes: usize,
}

impl CosmosDiagnostics {
    /// Diagnostics of something that made no attempt (a configuration error before any request).
    pub fn empty() -> Self {
        CosmosDiagnostics {
            activity_id: ActivityId::nil(),
            duration: Duration::ZERO,
            status: None,
            sub_status: None,
            total_request_charge: 0.0,
            requests: Vec::new(),
            summaries: None,
            request_count: 0,
            ignored_inputs: 0,
            max_summary_size_bytes: super::DEFAULT_MAX_SUMMARY_SIZE_BYTES,
        }
    }

    /// The client-generated activity id sent with every attempt.
    pub fn activity_id(&self) -> ActivityId {
        self.activity_id
    }

    /// Total operation time.
    pub fn elapsed(&self) -> Duration {
        self.duration
    }

    /// Final HTTP status (None when no response arrived).
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Final sub-status.
    pub fn sub_status(&self) -> Option<u32> {
        self.sub_status
    }

    /// Sum of the RU of every attempt.
    pub fn total_request_charge(&self) -> f64 {
        self.total_request_charge
    }

    /// The retained full records, in start order: every attempt when there were at most
    /// [`super::MAX_RECORDED_REQUESTS`], else the first [`super::HEAD_RECORDS`] and the last
    /// [`super::TAIL_RECORDS`]. Account metadata reads are included.
    pub fn requests(&self) -> &[RequestDiagnostics] {
        &self.requests
    }

    /// Attempts made whose full record was not retained (they still count in
    /// [`Self::request_count`], the RU total and the Summary's region statistics).
    pub fn dropped_requests(&self) -> u64 {
        self.request_count
            .saturating_sub(self.requests.len() as u64)
    }

    /// Inputs for unknown or already-finished attempts that were ignored (late answers).
    pub fn ignored_inputs(&self) -> u64 {
        self.ignored_inputs
    }

    /// Distinct regions contacted (metadata reads included), in first-contact order.
    pub fn regions_contacted(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = Vec::new();
        let mut add = |name: &Arc<str>| {
            if !out.iter().any(|x| **x == **name) {
                out.push(name.clone());
            }
        };
        match &self.summaries {
            Some(s) => s.regions.iter().for_each(|r| add(&r.name)),
            None => self.requests.iter().for_each(|r| add(&r.region)),
        }
        out
    }

    /// Number of attempts made (retained or not), metadata reads included. Exact.
    pub fn request_count(&self) -> u64 {
        self.request_count
    }

    /// Entries held in memory: retained full records, region summaries, copies of boundary
    /// records, deduplication groups and their duration samples or histogram buckets. Bounded
    /// by the limits in [`super`] whatever the number of attempts.
    pub fn retained_entries(&self) -> usize {
        self.requests.len() + self.summaries.as_ref().map_or(0, |s| s.retained())
    }

    /// The diagnostics as compact JSON (one line) in the seed's shape. Summary output is capped
    /// at the default 8 KiB; see [`Self::to_json_string_with`].
    pub fn to_json_string(&self, verbosity: DiagnosticsVerbosity) -> String {
        let options = DiagnosticsOptions::with_max_summary_size(self.max_summary_size_bytes);
        self.to_json_string_with(verbosity, &options)
    }

    /// As [`Self::to_json_string`], with the Summary cap taken from `options`.
    pub fn to_json_string_with(
        &self,
        verbosity: DiagnosticsVerbosity,
        options: &DiagnosticsOptions,
    ) -> String {
        self.render(verbosity, options, false)
    }

    /// The same content as [`Self::to_json_string_with`] laid out for humans (two-space indent,
    /// as the seed's examples). The cap applies to the compact form, so this may be larger.
    pub fn to_pretty_json_string(
        &self,
        verbosity: DiagnosticsVerbosity,
        options: &DiagnosticsOptions,
    ) -> String {
        self.render(verbosity, options, true)
    }

    fn render(
        &self,
        verbosity: DiagnosticsVerbosity,
        options: &DiagnosticsOptions,
        pretty: bool,
    ) -> String {
        match verbosity {
            DiagnosticsVerbosity::Detailed => {
                let mut out = String::with_capacity(256 + 384 * self.requests.len());
                write_detailed(self, &mut JsonWriter::new(&mut out, pretty));
                out
            }
            DiagnosticsVerbosity::Summary => {
                render_summary(self, options.max_summary_size_bytes(), pretty)
            }
        }
    }

    /// The region summaries: kept ones, or derived from the records.
    pub(crate) fn summaries(&self) -> Cow<'_, Summaries> {
        match &self.summaries {
            Some(s) => Cow::Borrowed(&**s),
            None => Cow::Owned(Summaries::from_records(&self.requests, 0, false)),
        }
    }

    /// The full record a region summary points at.
    pub(crate) fn record<'a>(&'a self, r: &'a RecordRef) -> Option<&'a RequestDiagnostics> {
        match r {
            RecordRef::Index(i) => self.requests.get(*i),
            RecordRef::Owned(b) => Some(b),
            RecordRef::Ordinal(_) => None,
        }
    }
}
