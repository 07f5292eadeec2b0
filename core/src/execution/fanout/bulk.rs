//! The bulk window job: operations queued per partition key range, packed into non-atomic
//! batch requests (PROTOCOL.md §8.3) with up to the range's degree of concurrency in flight;
//! each throttled operation re-queued after its retry-after; a split range's operations routed
//! again, those of its batch and those still queued for it alike. An operation whose partition
//! key does not fit the container gets that as its own result; the others go on. Operations
//! on the same item are applied in the order given: one waits until the one before it on
//! that item has its result (a throttled upsert retried after a later one would leave the
//! older version; a restore's "later versions win" depends on this).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::read_many::RangeRef;
use crate::batch::{BatchOperationResult, BatchResponse, MAX_BATCH_OPERATIONS};
use crate::bulk::executor::{window_summary, WindowBody, WindowOutcome, WireKey};
use crate::bulk::{Congestion, MAX_BULK_BATCH_BYTES};
use crate::diagnostics::CosmosDiagnostics;
use crate::driver::Driver;
use crate::error::{ConfigError, CosmosError};
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
    /// Each operation's effective partition key; `None` for one whose key could not be read
    /// or does not fit the container (its result is that error, and it is never routed).
    epks: Vec<Option<EffectivePartitionKey>>,
    /// For each operation, the one before it in the window on the same item (same partition
    /// key and id), which must have its result before this one is sent.
    after: Vec<Option<usize>>,
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
        let mut after = Vec::with_capacity(n);
        let mut last_on_item: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut rejected = Vec::new();
        for (i, raw) in w.operations.iter().enumerate() {
            match operation_key(raw.get(), def) {
                Ok((epk, id)) => {
                    let previous =
                        id.and_then(|id| last_on_item.insert((epk.as_str().to_owned(), id), i));
                    after.push(previous);
                    epks.push(Some(epk));
                }
                Err(problem) => {
                    after.push(None);
                    epks.push(None);
                    rejected.push((i, problem));
                }
            }
        }
        let mut job = BulkJob {
            container,
            ops: w.operations,
            epks,
            after,
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
        // One operation's bad key is its own result (as an invalid operation's is in
        // `BulkExecutor::start_window`); it does not stop the others.
        for (i, problem) in rejected {
            let e = CosmosError::config(
                ConfigError::InvalidOperation(problem),
                Arc::new(CosmosDiagnostics::empty()),
            );
            job.decide(i, Err(e));
        }
        for i in 0..n {
            job.route(i, map, None);
        }
        Ok(job)
    }

    /// Queues operation `i` on the range that holds its EPK: with the others never sent, or,
    /// with `retry_at`, as a throttled operation due then. An operation without an EPK
    /// (rejected) is never queued.
    fn route(&mut self, i: usize, map: &RoutingMap, retry_at: Option<Instant>) {
        let Some(Some(epk)) = self.epks.get(i) else {
            return;
        };
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
        match retry_at {
            Some(at) => q.retry.push((at, i)),
            None => q.fresh.push_back(i),
        }
    }

    /// The next batch to send, if a range has room and operations ready (round robin over
    /// the ranges, from the one after the range served last).
    pub fn next_batch(&mut self, now: Instant) -> Option<BatchRole> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let (ops, after, results) = (&self.ops, &self.after, &self.results);
        // A range's ready operations may all wait for earlier ones on the same items.
        let batch_of = |q: &mut RangeQueue| {
            if !(q.has_room() && q.ready(now)) {
                return None;
            }
            let taken = pack(q, now, ops, after, results);
            (!taken.is_empty()).then(|| {
                q.active += 1;
                BatchRole {
                    range: q.range.clone(),
                    ops: taken,
                }
            })
        };
        // After the range served last, then from the first range up to it.
        let (after_last, up_to_last) = match self.cursor.as_deref() {
            Some(c) => ((Excluded(c), Unbounded), (Unbounded, Included(c))),
            None => ((Unbounded, Unbounded), (Unbounded, Excluded(""))),
        };
        let mut found =
            (self.ranges.range_mut::<str, _>(after_last)).find_map(|(_, q)| batch_of(q));
        if found.is_none() {
            found = (self.ranges.range_mut::<str, _>(up_to_last)).find_map(|(_, q)| batch_of(q));
        }
        let role = found?;
        self.cursor = Some(role.range.0.clone());
        Some(role)
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
    /// When its range's queue is gone (the range split while this batch was in flight), the
    /// operation comes back as `(due, i, r)` for the caller to route by the current map.
    fn throttle(
        &mut self,
        range: &str,
        i: usize,
        r: BatchOperationResult,
        now: Instant,
    ) -> Option<(Instant, usize, BatchOperationResult)> {
        self.throttled += 1;
        let n = self.throttles.get(i).copied().unwrap_or(u32::MAX);
        if n >= self.max_retries {
            self.decide(i, Ok(r));
            return None;
        }
        if let Some(t) = self.throttles.get_mut(i) {
            *t += 1;
        }
        let at = now + r.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
        match self.ranges.get_mut(range) {
            Some(q) => {
                q.retry.push((at, i));
                None
            }
            None => Some((at, i, r)),
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
                self.route(i, map, None);
            }
            _ => self.decide(i, fail()),
        }
    }

    /// The operations still queued for a range that is gone: routed again by `map` (the split's
    /// children start from its concurrency, halved), throttled ones keeping their due time; or,
    /// with no map to route by, each given `e`. They were never sent to the gone range, so
    /// this uses none of their re-routing budget.
    fn requeue(&mut self, q: RangeQueue, map: Option<&RoutingMap>, e: &CosmosError) {
        let RangeQueue {
            range: (id, _),
            fresh,
            retry,
            congestion,
            ..
        } = q;
        let Some(map) = map else {
            for i in fresh.into_iter().chain(retry.into_iter().map(|(_, i)| i)) {
                self.decide(i, Err(e.clone()));
            }
            return;
        };
        self.carried.insert(id, congestion.dop);
        for i in fresh {
            self.route(i, map, None);
        }
        for (at, i) in retry {
            self.route(i, map, Some(at));
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
        // Throttled operations of a range that split meanwhile (its queue is gone).
        let mut homeless = Vec::new();
        match outcome {
            Ok(response) => match BatchResponse::from_response(&response, b.ops.len()) {
                Ok(parsed) => {
                    let mut gone = Vec::new();
                    for (&i, r) in b.ops.iter().zip(parsed.results().iter().cloned()) {
                        match r.status {
                            429 => {
                                throttled = true;
                                homeless.extend(self.throttle(&range, i, r, now));
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
                // The range split or merged: the child re-read the routing map. Counted once
                // per range (its batches still in flight come back gone too), and its queue
                // goes with it: what waits for the range would otherwise be sent there, batch
                // after batch, each costing a split of the bound.
                let queued = self.ranges.remove(&range);
                if queued.is_some() {
                    *splits += 1;
                }
                let map = (*splits <= super::MAX_SPLITS_PER_PAGE)
                    .then(|| d.containers.get(link).and_then(|e| e.routing.clone()))
                    .flatten();
                for &i in &b.ops {
                    self.reroute(i, map.as_ref(), || Err(e.clone()));
                }
                if let Some(q) = queued {
                    self.requeue(q, map.as_ref(), &e);
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
                    homeless.extend(self.throttle(&range, i, r, now));
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
        if !homeless.is_empty() {
            let map = d.containers.get(link).and_then(|e| e.routing.clone());
            for (at, i, r) in homeless {
                match &map {
                    Some(map) => self.route(i, map, Some(at)),
                    None => self.decide(i, Ok(r)),
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

/// The effective partition key and the item id of one wire operation (PROTOCOL.md §8.3), or
/// what is wrong with it, as that operation's result.
fn operation_key(
    raw: &str,
    def: &PartitionKeyDefinition,
) -> Result<(EffectivePartitionKey, Option<String>), String> {
    let key: WireKey = serde_json::from_str(raw)
        .map_err(|e| format!("bulk operation has no readable partitionKey: {e}"))?;
    let pk = crate::replay::parse_partition_key(&key.partition_key)
        .map_err(|e| format!("bulk operation: {e}"))?;
    let epk = effective_partition_key(&pk, def).map_err(|e| {
        format!("bulk operation: partition key {pk} does not fit the container: {e}")
    })?;
    Ok((epk, key.item_id()))
}

/// Takes the operations of one batch from `q`: due retries first (oldest first), then fresh
/// operations in window order, up to the batch limits, skipping each operation whose
/// predecessor on the same item (`after`) has no result yet (it stays queued, in place).
fn pack(
    q: &mut RangeQueue,
    now: Instant,
    ops: &[Box<serde_json::value::RawValue>],
    after: &[Option<usize>],
    results: &[Option<Result<BatchOperationResult, CosmosError>>],
) -> Vec<usize> {
    let waits = |i: usize| {
        after
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|p| results.get(p).is_some_and(Option::is_none))
    };
    let len = |i: usize| ops.get(i).map_or(0, |r| r.get().len());
    let mut taken: Vec<usize> = Vec::new();
    let mut bytes = 2usize;
    // Adds the length of `i` when it fits in the batch.
    let mut fits = |i: usize, n: usize| {
        let ok = n == 0 || (n < MAX_BATCH_OPERATIONS && bytes + len(i) < MAX_BULK_BATCH_BYTES);
        if ok {
            bytes += len(i) + 1;
        }
        ok
    };
    q.retry.sort_by_key(|(at, i)| (*at, *i));
    let mut k = 0;
    while let Some(&(at, i)) = q.retry.get(k) {
        if at > now {
            break;
        }
        if waits(i) {
            k += 1;
            continue;
        }
        if !fits(i, taken.len()) {
            return taken;
        }
        q.retry.remove(k);
        taken.push(i);
    }
    let mut k = 0;
    while let Some(&i) = q.fresh.get(k) {
        if waits(i) {
            k += 1;
            continue;
        }
        if !fits(i, taken.len()) {
            break;
        }
        q.fresh.remove(k);
        taken.push(i);
    }
    taken
}
