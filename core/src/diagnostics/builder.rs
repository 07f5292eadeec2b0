//! Accumulates attempt records while an execution runs, in memory bounded by the number of
//! distinct regions and deduplication groups, not by the number of attempts.
//!
//! - Full records: the first [`HEAD_RECORDS`] attempts (by start order) and the last
//!   [`TAIL_RECORDS`] finished after them. Older tail records are dropped (counted).
//! - While every attempt fits in the head (nearly always), nothing else is kept: the Summary's
//!   region statistics are derived from the records when rendered.
//! - Past the head, the builder "spills": per region (at most [`MAX_REGIONS`]) it keeps the
//!   attempt count, RU, the first and the last finished attempt in full (by reference while
//!   retained, as a copy once evicted) and the middle attempts folded into deduplication
//!   groups (at most [`MAX_DEDUP_GROUPS`] per execution; further keys go to the region's
//!   `other` statistics).
//! - Attempts in flight beyond the head: at most [`MAX_OPEN_TAIL`]; more are not recorded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::record::RequestDiagnostics;
use super::region::RecordRef;
use super::summaries::Summaries;
use super::{
    CosmosDiagnostics, EventRecord, ExecutionContext, MAX_EVENTS_PER_REQUEST, MAX_RECORDED_REQUESTS,
};
#[cfg(doc)]
use super::{MAX_DEDUP_GROUPS, MAX_REGIONS};
use crate::ids::{ActivityId, AttemptId};
use crate::request::Purpose;
use crate::transport::{RequestEventKind, RequestSent};

/// Tail records kept after the head is full.
pub const TAIL_RECORDS: usize = 16;
/// Records kept from the start of the execution.
pub const HEAD_RECORDS: usize = MAX_RECORDED_REQUESTS - TAIL_RECORDS;
/// Attempts beyond the head that may be in flight at once and still be recorded.
pub const MAX_OPEN_TAIL: usize = 64;

// The open-attempt bitmap of the head is a u64.
const _: () = assert!(HEAD_RECORDS <= 64);

/// State that exists only once an execution has more attempts than the head holds.
#[derive(Debug, Default)]
struct Spill {
    /// Attempts beyond the head that are in flight: `(ordinal, record)`.
    open_tail: Vec<(usize, RequestDiagnostics)>,
    /// Finished attempts beyond the head, oldest first: `(ordinal, record)`.
    tail: VecDeque<(usize, RequestDiagnostics)>,
    summaries: Summaries,
}

/// Mutable diagnostics of a running execution.
#[derive(Debug)]
pub(crate) struct DiagnosticsBuilder {
    activity_id: ActivityId,
    started: Instant,
    /// The last [`Self::since_start`] answer, `(t, t - started)`: the events of one turn share
    /// its `now` (an attempt's start and its `TransportStart`; the response, the attempt's end
    /// and the operation's end), and `Instant` subtraction is not free.
    last_since: (Instant, Duration),
    /// Attempts `0..HEAD_RECORDS` by ordinal (start order).
    head: Vec<RequestDiagnostics>,
    /// Bit `i`: `head[i]` is started and not finished.
    head_open: u64,
    spill: Option<Box<Spill>>,
    /// Attempts started (the next ordinal).
    started_count: u64,
    total_charge: f64,
    ignored_inputs: u64,
    /// The driver's Summary cap, carried into the finished diagnostics.
    max_summary_size_bytes: usize,
}

impl DiagnosticsBuilder {
    pub fn new(activity_id: ActivityId, started: Instant) -> Self {
        DiagnosticsBuilder {
            activity_id,
            started,
            last_since: (started, Duration::ZERO),
            head: Vec::new(),
            head_open: 0,
            spill: None,
            started_count: 0,
            total_charge: 0.0,
            ignored_inputs: 0,
            max_summary_size_bytes: super::DEFAULT_MAX_SUMMARY_SIZE_BYTES,
        }
    }

    /// Uses the driver's Summary cap for `CosmosDiagnostics::to_json_string`.
    pub fn set_max_summary_size(&mut self, n: usize) {
        self.max_summary_size_bytes = n;
    }

    pub fn activity_id(&self) -> ActivityId {
        self.activity_id
    }

    pub fn since_start(&mut self, t: Instant) -> Duration {
        let (at, since) = self.last_since;
        if t == at {
            return since;
        }
        let since = t.saturating_duration_since(self.started);
        self.last_since = (t, since);
        since
    }

    /// Records a new attempt; returns its slot (None when it cannot be recorded).
    #[allow(clippy::too_many_arguments)]
    pub fn start_attempt(
        &mut self,
        attempt: AttemptId,
        purpose: Purpose,
        ctx: ExecutionContext,
        region: Arc<str>,
        endpoint: super::record::AttemptUrl,
        now: Instant,
    ) -> Option<usize> {
        let ordinal = usize::try_from(self.started_count).unwrap_or(usize::MAX);
        self.started_count = self.started_count.saturating_add(1);
        let started_at = self.since_start(now);
        // Built where it is kept (a record is 384 bytes: built first and then pushed, it was
        // copied twice).
        let record = move || RequestDiagnostics {
            attempt,
            purpose,
            execution_context: ctx,
            region,
            endpoint,
            status: None,
            sub_status: None,
            request_charge: 0.0,
            activity_id: None,
            started_at,
            duration: Duration::ZERO,
            request_sent: RequestSent::Unknown,
            events: super::record::Events::new(),
            error: None,
        };
        if ordinal < HEAD_RECORDS {
            if self.head.capacity() == 0 {
                // Most operations make one attempt: room for exactly one record (a small
                // block, which the allocator serves fastest); a second attempt grows it.
                self.head.reserve_exact(1);
            }
            self.head.push(record());
            self.head_open |= 1u64 << ordinal;
            return Some(ordinal);
        }
        let head = &self.head;
        let head_open = self.head_open;
        let spill = self.spill.get_or_insert_with(|| {
            Box::new(Spill {
                summaries: Summaries::from_records(head, head_open, true),
                ..Spill::default()
            })
        });
        let record = record();
        spill
            .summaries
            .count_start(&record.region, record.is_metadata());
        if spill.open_tail.len() >= MAX_OPEN_TAIL {
            return None;
        }
        spill.open_tail.push((ordinal, record));
        Some(ordinal)
    }

    /// The in-flight record of `slot`.
    fn open_record(&mut self, slot: Option<usize>) -> Option<&mut RequestDiagnostics> {
        let i = slot?;
        if i < HEAD_RECORDS {
            if self.head_open & (1u64 << i) == 0 {
                return None;
            }
            return self.head.get_mut(i);
        }
        self.spill
            .as_mut()?
            .open_tail
            .iter_mut()
            .find(|(o, _)| *o == i)
            .map(|(_, r)| r)
    }

    pub fn event(
        &mut self,
        slot: Option<usize>,
        kind: RequestEventKind,
        details: Option<String>,
        now: Instant,
    ) {
        let at = self.since_start(now);
        if let Some(r) = self.open_record(slot) {
            if r.events.len() < MAX_EVENTS_PER_REQUEST {
                r.events.push(EventRecord { kind, at, details });
            }
        }
    }

    /// Completes an attempt's record.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_attempt(
        &mut self,
        slot: Option<usize>,
        status: Option<u16>,
        sub_status: Option<u32>,
        charge: f64,
        activity_id: Option<super::record::ServiceActivityId>,
        sent: RequestSent,
        error: Option<String>,
        now: Instant,
    ) {
        let now_rel = self.since_start(now);
        self.total_charge += charge;
        let Some(r) = self.open_record(slot) else {
            return; // not recorded (or already finished): its RU still counts in the total
        };
        r.status = status;
        r.sub_status = sub_status;
        r.request_charge = charge;
        r.activity_id = activity_id;
        r.request_sent = sent;
        r.duration = now_rel.saturating_sub(r.started_at);
        r.error = error;
        if let Some(i) = slot {
            self.close(i);
        }
    }

    /// Moves a just-finished attempt out of the open set (and, once spilled, into the region
    /// summaries).
    fn close(&mut self, ordinal: usize) {
        if ordinal < HEAD_RECORDS {
            self.head_open &= !(1u64 << ordinal);
            if let (Some(spill), Some(rec)) = (self.spill.as_deref_mut(), self.head.get(ordinal)) {
                let tail = &spill.tail;
                let head = &self.head;
                spill
                    .summaries
                    .account(rec, RecordRef::Ordinal(ordinal), |o| resolve(head, tail, o));
            }
            return;
        }
        let Some(spill) = self.spill.as_deref_mut() else {
            return;
        };
        let Some(pos) = spill.open_tail.iter().position(|(o, _)| *o == ordinal) else {
            return;
        };
        let entry = spill.open_tail.swap_remove(pos);
        spill.tail.push_back(entry);
        if let Some((_, rec)) = spill.tail.back() {
            let tail = &spill.tail;
            let head = &self.head;
            spill
                .summaries
                .account(rec, RecordRef::Ordinal(ordinal), |o| resolve(head, tail, o));
        }
        if spill.tail.len() > TAIL_RECORDS {
            if let Some((o, rec)) = spill.tail.pop_front() {
                evict(&mut spill.summaries, o, rec);
            }
        }
    }

    /// Request units charged so far.
    pub fn total_charge(&self) -> f64 {
        self.total_charge
    }

    pub fn ignored_input(&mut self) {
        self.ignored_inputs += 1;
    }

    /// Folds the finished diagnostics of a sub-request (a child of a multi-request operation,
    /// ADR 0005) into this operation's: each retained record is added as an attempt of this
    /// operation, with its times shifted by `child_started`; requests the child did not retain
    /// and its RU still count.
    pub fn absorb(&mut self, child: &CosmosDiagnostics, child_started: Instant) {
        // `child_started` is not before this operation's start (children start later).
        let base = child_started.max(self.started);
        let at = |d: Duration| base.checked_add(d).unwrap_or(base);
        let mut charge_seen = 0.0;
        for r in &child.requests {
            let start = at(r.started_at);
            let slot = self.start_attempt(
                r.attempt,
                r.purpose,
                r.execution_context,
                r.region.clone(),
                r.endpoint.clone(),
                start,
            );
            for e in &r.events {
                self.event(slot, e.kind, e.details.clone(), at(e.at));
            }
            self.finish_attempt(
                slot,
                r.status,
                r.sub_status,
                r.request_charge,
                r.activity_id.clone(),
                r.request_sent,
                r.error.clone(),
                at(r.started_at.saturating_add(r.duration)),
            );
            charge_seen += r.request_charge;
        }
        // Requests the child counted but did not keep in full.
        let unretained = child
            .request_count
            .saturating_sub(child.requests.len() as u64);
        self.started_count = self.started_count.saturating_add(unretained);
        self.total_charge += (child.total_request_charge - charge_seen).max(0.0);
        self.ignored_inputs = self.ignored_inputs.saturating_add(child.ignored_inputs);
    }

    /// Entries currently held (full records, regions, groups, samples): the memory bound.
    /// (Used by tests; an `Execution` accessor would expose it while running.)
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn retained_entries(&self) -> usize {
        self.head.len()
            + self.spill.as_ref().map_or(0, |s| {
                s.open_tail.len() + s.tail.len() + s.summaries.retained()
            })
    }

    /// The finished diagnostics. Called once, when the execution ends: the records move out.
    pub fn finish(
        &mut self,
        now: Instant,
        status: Option<u16>,
        sub_status: Option<u32>,
    ) -> Arc<CosmosDiagnostics> {
        self.close_unfinished(now);
        let mut requests = std::mem::take(&mut self.head);
        let summaries = self.spill.take().map(|spill| {
            let Spill {
                tail, summaries, ..
            } = *spill;
            let mut summaries = summaries;
            let mut tail: Vec<(usize, RequestDiagnostics)> = tail.into_iter().collect();
            tail.sort_by_key(|(o, _)| *o);
            let head_len = requests.len();
            for region in &mut summaries.regions {
                for slot in [&mut region.first, &mut region.last] {
                    if let Some(RecordRef::Ordinal(o)) = slot {
                        *slot = if *o < head_len {
                            Some(RecordRef::Index(*o))
                        } else {
                            tail.binary_search_by_key(o, |(t, _)| *t)
                                .ok()
                                .map(|p| RecordRef::Index(head_len + p))
                        };
                    }
                }
            }
            requests.extend(tail.into_iter().map(|(_, r)| r));
            Box::new(summaries)
        });
        Arc::new(CosmosDiagnostics {
            activity_id: self.activity_id,
            duration: self.since_start(now),
            status,
            sub_status,
            total_request_charge: self.total_charge,
            requests,
            summaries,
            request_count: self.started_count,
            ignored_inputs: self.ignored_inputs,
            max_summary_size_bytes: self.max_summary_size_bytes,
        })
    }

    /// Attempts still open when the execution ends (the execution aborts them first, so this
    /// is a safety net): recorded as they stand, ending now.
    fn close_unfinished(&mut self, now: Instant) {
        let open_tail = self.spill.as_ref().map_or(0, |s| s.open_tail.len());
        if self.head_open == 0 && open_tail == 0 {
            return;
        }
        let now_rel = self.since_start(now);
        let mut open: Vec<usize> = (0..self.head.len())
            .filter(|i| self.head_open & (1u64 << i) != 0)
            .collect();
        if let Some(s) = &self.spill {
            open.extend(s.open_tail.iter().map(|(o, _)| *o));
        }
        for o in open {
            if let Some(r) = self.open_record(Some(o)) {
                r.duration = now_rel.saturating_sub(r.started_at);
                if r.error.is_none() {
                    r.error = Some("unfinished".into());
                }
            }
            self.close(o);
        }
    }
}

/// A tail record falls out of the window: keep a copy when a region still points at it.
fn evict(s: &mut Summaries, ordinal: usize, rec: RequestDiagnostics) {
    let metadata = rec.is_metadata();
    let Some(region) = s.regions.iter_mut().find(|r| r.is(&rec.region, metadata)) else {
        return;
    };
    let target = RecordRef::Ordinal(ordinal);
    if region.first.as_ref() == Some(&target) {
        region.first = Some(RecordRef::Owned(Box::new(rec)));
    } else if region.last.as_ref() == Some(&target) {
        region.last = Some(RecordRef::Owned(Box::new(rec)));
    }
}

/// The retained record with this ordinal, if any.
fn resolve<'a>(
    head: &'a [RequestDiagnostics],
    tail: &'a VecDeque<(usize, RequestDiagnostics)>,
    ordinal: usize,
) -> Option<&'a RequestDiagnostics> {
    if ordinal < HEAD_RECORDS {
        return head.get(ordinal);
    }
    tail.iter()
        .rev()
        .find(|(o, _)| *o == ordinal)
        .map(|(_, r)| r)
}
