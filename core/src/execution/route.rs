//! Which region an operation attempt goes to, and the timeouts of metadata reads.

use super::*;
use std::borrow::Cow;

/// Per-attempt timeouts of metadata reads (account, container, pk ranges): short first, so a
/// region that hangs costs a cold start half a second, not a minute. Precedent: .NET
/// `HttpTimeoutPolicyControlPlaneRetriableHotPath` (0.5 s, 5 s, 65 s); capped by
/// `metadata_request_timeout`.
pub(super) const METADATA_TIMEOUTS: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(5),
    Duration::from_secs(65),
];

/// The timeout of a metadata read after `failures` failed ones.
pub(super) fn metadata_timeout(d: &Driver, failures: usize) -> Duration {
    METADATA_TIMEOUTS[failures.min(METADATA_TIMEOUTS.len() - 1)].min(d.eff.metadata_request_timeout)
}

/// Bound on remembered tried endpoints (an account has at most a few dozen regions).
pub(super) const MAX_TRIED: usize = 64;

impl Execution {
    /// Picks the endpoint for the next operation attempt, after any account refresh landed:
    /// the same region again, the first candidate this execution has not tried yet (walking
    /// every region before coming back), or the first write region.
    ///
    /// Also returns whether the pick is to count as tried once it is the current region
    /// ([`RegionState::set_current`]): it was not tried yet and the bound has room.
    pub(super) fn resolve_route(&mut self, d: &mut Driver, now: Instant) -> (RegionRoute, bool) {
        let candidates = self.partition_candidates(d, now);
        let pick = match self.regions.next {
            Route::SameRegion => self
                .regions
                .current
                .clone()
                .filter(|r| candidates.contains(r))
                .or_else(|| candidates.first().cloned()),
            Route::NextRegion => candidates
                .iter()
                .find(|r| !self.regions.has_tried(&r.endpoint))
                .cloned()
                .or_else(|| {
                    self.regions.clear_tried();
                    candidates.first().cloned()
                }),
            Route::WriteRegion => candidates.first().cloned(),
        }
        .unwrap_or_else(|| d.locations.global().clone());
        let counted =
            !self.regions.has_tried(&pick.endpoint) && self.regions.tried_len() < MAX_TRIED;
        self.regions.next = Route::SameRegion;
        self.regions.probing = false;
        // An empty breaker has no region to probe (building the key allocates).
        if !d.breaker.is_empty() {
            if let Some(key) = self.breaker_key(&pick.endpoint) {
                if d.breaker.state(&key, now) == BreakerState::ProbeAllowed {
                    d.breaker.probe_started(&key);
                    self.regions.probing = true;
                }
            }
        }
        (pick, counted)
    }

    /// The breaker key of this operation's partition in the region at `endpoint`.
    pub(super) fn breaker_key(&self, endpoint: &Arc<str>) -> Option<PartitionRegion> {
        let container = self.op.as_ref()?.container.as_ref()?;
        let (range, _) = self.routing.range.as_deref()?;
        Some((
            container.link().to_string(),
            range.clone(),
            endpoint.clone(),
        ))
    }

    /// Candidate regions for this operation: the location cache's order, with regions whose
    /// circuit breaker is open for this partition moved to the end. With per-partition
    /// automatic failover, a single-write account's writes for a partition whose write region
    /// is open may go to the other regions.
    pub(super) fn partition_candidates<'d>(
        &self,
        d: &'d Driver,
        now: Instant,
    ) -> Cow<'d, [RegionRoute]> {
        let mut candidates =
            d.locations
                .candidates(self.regions.write_regions, &self.regions.excluded, now);
        if !d.eff.circuit_breaker.enabled || self.routing.range.is_none() || d.breaker.is_empty() {
            return candidates;
        }
        let open = |r: &RegionRoute| {
            self.breaker_key(&r.endpoint)
                .is_some_and(|k| d.breaker.state(&k, now) == BreakerState::Open)
        };
        let ppaf = d
            .account_properties()
            .is_some_and(|p| p.per_partition_failover);
        if self.regions.write_regions
            && !d.locations.multi_write()
            && ppaf
            && candidates.first().is_some_and(open)
        {
            candidates = d.locations.candidates(false, &self.regions.excluded, now);
        }
        let (closed, opened): (Vec<_>, Vec<_>) = candidates.iter().cloned().partition(|r| !open(r));
        let mut out = closed;
        out.extend(opened);
        Cow::Owned(out)
    }

    /// Initial for the first attempt, region failover when the endpoint changed, else retry.
    /// `send` then makes `route` the current region, once the attempt is built.
    pub(super) fn context_for(&self, route: &RegionRoute) -> ExecutionContext {
        match &self.regions.current {
            None => ExecutionContext::Initial,
            Some(prev) if prev.endpoint != route.endpoint => ExecutionContext::RegionFailover,
            Some(_) => ExecutionContext::Retry,
        }
    }
}
