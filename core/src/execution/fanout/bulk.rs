//! The bulk window job: operations queued per partition key range, packed into non-atomic
//! batch requests (PROTOCOL.md §8.3) with up to the range's degree of concurrency in flight;
//! each throttled operation re-queued after its retry-after; a split range's operations routed
//! again.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::read_many::RangeRef;
use crate::batch::{BatchOperationResult, BatchResponse, MAX_BATCH_OPERATIONS};
use crate::bulk::executor::{window_summary, WindowBody, WindowOutcome, WireKey};
use crate::bulk::{Congestion, MAX_BULK_BATCH_BYTES};
use crate::driver::Driver;
use crate::error::CosmosError;
use crate::models::{ContainerReference, PartitionKeyDefinition};
use crate::operation::options::QueryRole;
use crate::operation::{CosmosOperation, OperationKind, OperationOptions};
use crate::partition::{effective_partition_key, EffectivePartitionKey, RoutingMap};
use crate::response::CosmosResponse;

/// Wait before retrying a throttled operation whose result carried no retry-after. The service
/// always sends `retryAfterMilliseconds` with a per-operation 429 (PROTOCOL.md §8.2); no SDK
/// default was found for its absence, so this is Sextant's own floor, there only so a malformed
/// answer cannot make a range retry in a tight loop.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_millis(50);

/// Re-routings of one operation after its range was gone (splits, merges) before the 410 is
/// its result. Precedent: .NET `BulkPartitionKeyRangeGoneRetryPolicy` retries gone ranges
/// without a fixed count; a bound keeps a routing-map fault from looping.
const MAX_GONE_RETRIES: u32 = 10;

/// A batch child: its range and the window's operations it carries.
#[derive(Debug)]
pub(crate) struct BatchRole {
    range: RangeRef,
    ops: Vec<usize>,
}

#[derive(Debug)]
struct RangeQueue {
    range: RangeRef,
    /// Operations never sent, in window order.
    fresh: VecDeque<usize>,
    /// Throttled operations and when they may go again.
    retry: Vec<(Instant, usize)>,
    active: usize,
    congestion: Congestion,
}

impl RangeQueue {
    fn has_room(&self) -> bool {
        self.active < self.congestion.dop
    }

    fn earliest_retry(&self) -> Option<Instant> {
        self.retry.iter().map(|(at, _)| *at).min()
    }

    fn ready(&self, now: Instant) -> bool {
        !self.fresh.is_empty() || self.earliest_retry().is_some_and(|at| at <= now)
    }
}

/// A bulk window in progress.
#[derive(Debug)]
pub(crate) struct BulkJob {
    container: ContainerReference,
    /// The wire form of each operation.
    ops: Vec<Box<serde_json::value::RawValue>>,
    epks: Vec<EffectivePartitionKey>,
    throttles: Vec<u32>,
    gone: Vec<u32>,
    results: Vec<Option<Result<BatchOperationResult, CosmosError>>>,
    /// Queues by range id.
    ranges: BTreeMap<String, RangeQueue>,
    /// The range served last (round robin).
    cursor: Option<String>,
    max_retries: u32,
    max_dop: usize,
    carried: BTreeMap<String, usize>,
    left: usize,
    throttled: u64,
    batches: u64,
}

impl BulkJob {
    pub fn new(
        container: ContainerReference,
        body: &[u8],
        _opts: &OperationOptions,
        map: Option<&RoutingMap>,
        def: Option<&PartitionKeyDefinition>,
    ) -> Result<BulkJob, String> {
        let w: WindowBody =
            serde_json::from_slice(body).map_err(|e| format!("bulk window is malformed: {e}"))?;
        let (Some(map), Some(def)) = (map, def) else {
            return Err(format!(
                "the partition key ranges of {} could not be read, so bulk operations cannot be grouped by range",
                container.link()
            ));
        };
        let n = w.operations.len();
        let mut epks = Vec::with_capacity(n);
        for (i, raw) in w.operations.iter().enumerate() {
            let key: WireKey = serde_json::from_str(raw.get())
                .map_err(|e| format!("bulk operation {i} has no partitionKey: {e}"))?;
            let pk = crate::replay::parse_partition_key(&key.partition_key)
                .map_err(|e| format!("bulk operation {i}: {e}"))?;
            let epk = effective_partition_key(&pk, def).map_err(|e| {
                format!("bulk operation {i}: partition key {pk} does not fit the container: {e}")
            })?;
            epks.push(epk);
        }
        let mut job = BulkJob {
            container,
            ops: w.operations,
            epks,
            throttles: vec![0; n],
            gone: vec![0; n],
            results: (0..n).map(|_| None).collect(),
            ranges: BTreeMap::new(),
            cursor: None,
            max_retries: w.max_retries,
            max_dop: w.max_dop,
            carried: w.dop,
            left: n,
            throttled: 0,
            batches: 0,
        };
        for i in 0..n {
            job.route(i, map);
        }
        Ok(job)
    }

    /// Queues operation `i` on the range that holds its EPK.
    fn route(&mut self, i: usize, map: &RoutingMap) {
        let Some(epk) = self.epks.get(i) else { return };
        let r = map.range_for(epk);
        let carried = self.carried.get(&r.id).copied();
        // A range born of a split starts from its parent's concurrency, as .NET's does not
        // (it starts at 1); carried state only ever lowers the risk of overload by halving.
        let parent = r
            .parents
            .iter()
            .rev()
            .find_map(|p| self.carried.get(p))
            .copied();
        let max = self.max_dop;
        let q = self
            .ranges
            .entry(r.id.clone())
            .or_insert_with(|| RangeQueue {
                range: (r.id.clone(), r.parents.clone()),
                fresh: VecDeque::new(),
                retry: Vec::new(),
                active: 0,
                congestion: Congestion::new(
                    carried.or(parent.map(|p| (p / 2).max(1))).unwrap_or(1),
                    max,
                ),
            });
        q.fresh.push_back(i);
    }

    /// The next batch to send, if a range has room and operations ready.
    pub fn next_batch(&mut self, now: Instant) -> Option<BatchRole> {
        let ids: Vec<&String> = self.ranges.keys().collect();
        let start = match &self.cursor {
            Some(c) => ids.iter().position(|id| *id > c).unwrap_or(0),
            None => 0,
        };
        let pick = (0..ids.len())
            .map(|k| ids[(start + k) % ids.len()].clone())
            .find(|id| {
                self.ranges
                    .get(id)
                    .is_some_and(|q| q.has_room() && q.ready(now))
            })?;
        let q = self.ranges.get_mut(&pick)?;
        let mut ops = Vec::new();
        let mut bytes = 2usize;
        let fits = |bytes: usize, len: usize, n: usize| {
            n == 0 || (n < MAX_BATCH_OPERATIONS && bytes + len < MAX_BULK_BATCH_BYTES)
        };
        // Due retries first (oldest first), then fresh operations in window order.
        q.retry.sort_by_key(|(at, i)| (*at, *i));
        while let Some(&(at, i)) = q.retry.first() {
            let len = self.ops.get(i).map_or(0, |r| r.get().len());
            if at > now || !fits(bytes, len, ops.len()) {
                break;
            }
            q.retry.remove(0);
            bytes += len + 1;
            ops.push(i);
        }
        while let Some(&i) = q.fresh.front() {
            let len = self.ops.get(i).map_or(0, |r| r.get().len());
            if !fits(bytes, len, ops.len()) {
                break;
            }
            q.fresh.pop_front();
            bytes += len + 1;
            ops.push(i);
        }
        if ops.is_empty() {
            return None;
        }
        q.active += 1;
        self.cursor = Some(pick);
        Some(BatchRole {
            range: q.range.clone(),
            ops,
        })
    }

    /// When a throttled operation of a range with room may go again.
    pub fn wake(&self) -> Option<Instant> {
        self.ranges
            .values()
            .filter(|q| q.has_room())
            .filter_map(RangeQueue::earliest_retry)
            .min()
    }

    pub fn is_done(&self) -> bool {
        self.left == 0
    }

    /// The child of `b`: a non-atomic batch to its range.
    pub fn child(
        &self,
        b: &BatchRole,
        mut opts: OperationOptions,
    ) -> Option<(CosmosOperation, OperationOptions, Option<RangeRef>)> {
        let mut body = String::with_capacity(2 + b.ops.len() * 64);
        body.push('[');
        for (n, &i) in b.ops.iter().enumerate() {
            if n > 0 {
                body.push(',');
            }
            body.push_str(self.ops.get(i)?.get());
        }
        body.push(']');
        let mut op = CosmosOperation::item_feed(OperationKind::Batch, &self.container);
        op.body = Some(bytes::Bytes::from(body));
        opts.query_role = QueryRole::Range(b.range.0.clone());
        opts.max_concurrency = None;
        Some((op, opts, Some(b.range.clone())))
    }

    fn decide(&mut self, i: usize, r: Result<BatchOperationResult, CosmosError>) {
        if let Some(slot) = self.results.get_mut(i) {
            if slot.is_none() {
                self.left = self.left.saturating_sub(1);
            }
            *slot = Some(r);
        }
    }

    /// Operation `i` was throttled: queue it again, or give it its 429 after the last retry.
    fn throttle(&mut self, range: &str, i: usize, r: BatchOperationResult, now: Instant) {
        self.throttled += 1;
        let n = self.throttles.get(i).copied().unwrap_or(u32::MAX);
        if n >= self.max_retries {
            self.decide(i, Ok(r));
            return;
        }
        if let Some(t) = self.throttles.get_mut(i) {
            *t += 1;
        }
        let at = now + r.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
        if let Some(q) = self.ranges.get_mut(range) {
            q.retry.push((at, i));
        }
    }

    /// Operation `i` went to a range that no longer holds it: route it again by the map the
    /// failed child refreshed, or give it `fail` after too many tries.
    fn reroute(
        &mut self,
        i: usize,
        map: Option<&RoutingMap>,
        fail: impl FnOnce() -> Result<BatchOperationResult, CosmosError>,
    ) {
        let n = self.gone.get(i).copied().unwrap_or(u32::MAX);
        match map {
            Some(map) if n < MAX_GONE_RETRIES => {
                if let Some(g) = self.gone.get_mut(i) {
                    *g += 1;
                }
                self.route(i, map);
            }
            _ => self.decide(i, fail()),
        }
    }

    /// Takes in a batch child's outcome.
    pub fn take(
        &mut self,
        b: BatchRole,
        outcome: Result<CosmosResponse, CosmosError>,
        d: &mut Driver,
        link: &str,
        splits: &mut u32,
        now: Instant,
    ) {
        let range = b.range.0.clone();
        if let Some(q) = self.ranges.get_mut(&range) {
            q.active = q.active.saturating_sub(1);
        }
        self.batches += 1;
        let mut throttled = false;
        let mut succeeded = false;
        match outcome {
            Ok(response) => match BatchResponse::from_response(&response, b.ops.len()) {
                Ok(parsed) => {
                    let mut gone = Vec::new();
                    for (&i, r) in b.ops.iter().zip(parsed.results().iter().cloned()) {
                        match r.status {
                            429 => {
                                throttled = true;
                                self.throttle(&range, i, r, now);
                            }
                            // This range does not hold the operation's key (any more).
                            410 if crate::policy::table::partition_gone(410, r.sub_status) => {
                                gone.push((i, r))
                            }
                            _ => {
                                succeeded |= r.is_success();
                                self.decide(i, Ok(r));
                            }
                        }
                    }
                    if !gone.is_empty() {
                        d.containers.mark_ranges_stale(link);
                        let map = d.containers.get(link).and_then(|e| e.routing.clone());
                        for (i, r) in gone {
                            self.reroute(i, map.as_ref(), || Ok(r));
                        }
                    }
                }
                Err(e) => {
                    for &i in &b.ops {
                        self.decide(i, Err(e.clone()));
                    }
                }
            },
            Err(e) if super::gone(&e) => {
                // The range split or merged: the child re-read the routing map.
                *splits += 1;
                let map = (*splits <= super::MAX_SPLITS_PER_PAGE)
                    .then(|| d.containers.get(link).and_then(|e| e.routing.clone()))
                    .flatten();
                for &i in &b.ops {
                    self.reroute(i, map.as_ref(), || Err(e.clone()));
                }
            }
            Err(e) if e.status() == Some(429) => {
                // Throttled as a whole after the child's own retries: every operation waits.
                throttled = true;
                let wait = e.headers().and_then(|h| h.retry_after());
                for &i in &b.ops {
                    let r = BatchOperationResult {
                        status: 429,
                        sub_status: e.sub_status(),
                        request_charge: 0.0,
                        etag: None,
                        resource_body: None,
                        retry_after: wait,
                        message: Some(e.message().to_string()),
                    };
                    self.throttle(&range, i, r, now);
                }
            }
            Err(e) => {
                // Not answered per operation (a transport failure, a 5xx after the policy's
                // retries): each operation's result is the error, outcome unknown for writes
                // whose request may have been applied.
                for &i in &b.ops {
                    self.decide(i, Err(e.clone()));
                }
            }
        }
        if let Some(q) = self.ranges.get_mut(&range) {
            q.congestion.on_batch(throttled, succeeded, now);
        }
    }

    /// The window's summary body and item count.
    pub fn body(&mut self) -> (Vec<u8>, usize) {
        let n = self.ops.len();
        (window_summary(n, self.throttled, self.batches), n)
    }

    /// Hands the results and congestion state to the executor.
    pub fn take_outcome(&mut self) -> WindowOutcome {
        WindowOutcome {
            results: std::mem::take(&mut self.results),
            dop: self
                .ranges
                .iter()
                .map(|(id, q)| (id.clone(), q.congestion.dop))
                .collect(),
            throttled: self.throttled,
            batches: self.batches,
        }
    }
}
