//! Leases: the time-limited claims an attempt holds on state its driver shares (ADR 0001).
//!
//! One execution fetches the account metadata, a container's routing metadata or a token at a
//! time; hedged attempts count against a per-driver budget. Each claim names the attempt that
//! holds it and expires by time, so a caller that drops its operation mid-flight cannot block
//! the others for longer than the claim's deadline. Every claim is taken and released here, so
//! "what does attempt N hold" has one answer: [`Leases::release`] frees all of it.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::ids::AttemptId;

/// Bound on container leases held at once (one per container being routed; precedent: the
/// container cache's own bound, `routing::container_cache::MAX_CACHED_CONTAINERS`).
const MAX_CONTAINER_LEASES: usize = crate::routing::container_cache::MAX_CACHED_CONTAINERS;

/// A time-limited exclusive right to fetch shared state (account metadata, a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The attempt (or token acquisition) holding it.
    pub holder: AttemptId,
    /// When it lapses on its own.
    pub until: Instant,
}

impl Lease {
    /// True until the lease lapses.
    pub fn active(&self, now: Instant) -> bool {
        now < self.until
    }

    /// Free for someone whose own attempts are `ours`: lapsed, or held by one of them (an
    /// execution retrying its own fetch keeps its lease).
    fn free_for(&self, now: Instant, ours: &[AttemptId]) -> bool {
        !self.active(now) || ours.contains(&self.holder)
    }
}

/// Every claim a driver's executions hold.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    account: Option<Lease>,
    token: Option<Lease>,
    containers: BTreeMap<String, Lease>,
    /// Hedged attempts in flight, each counted until it ends or its deadline passes.
    hedges: Vec<Lease>,
}

impl Leases {
    /// The account metadata lease, if any (active or not).
    pub fn account(&self) -> Option<Lease> {
        self.account
    }

    /// True when an execution whose attempts are `ours` may fetch the account metadata.
    pub fn account_free(&self, now: Instant, ours: &[AttemptId]) -> bool {
        self.account.is_none_or(|l| l.free_for(now, ours))
    }

    /// Claims the account metadata fetch.
    pub fn take_account(&mut self, lease: Lease) {
        self.account = Some(lease);
    }

    /// The token acquisition lease, if any.
    pub fn token(&self) -> Option<Lease> {
        self.token
    }

    /// True when nobody is acquiring a token (or their claim lapsed).
    pub fn token_free(&self, now: Instant) -> bool {
        self.token.is_none_or(|l| !l.active(now))
    }

    /// Claims the token acquisition.
    pub fn take_token(&mut self, lease: Lease) {
        self.token = Some(lease);
    }

    /// A token arrived (for whoever asked): the acquisition is over.
    pub fn token_done(&mut self) {
        self.token = None;
    }

    /// The routing-metadata lease of the container at `link`, if any.
    pub fn container(&self, link: &str) -> Option<Lease> {
        self.containers.get(link).copied()
    }

    /// True when an execution whose attempts are `ours` may fetch `link`'s routing metadata.
    pub fn container_free(&self, link: &str, now: Instant, ours: &[AttemptId]) -> bool {
        self.containers
            .get(link)
            .is_none_or(|l| l.free_for(now, ours))
    }

    /// Claims the routing-metadata fetch of `link`. Lapsed claims are dropped first so the map
    /// stays bounded; at the bound the claim is not recorded (others may fetch too: wasteful,
    /// never wrong).
    pub fn take_container(&mut self, link: &str, lease: Lease, now: Instant) {
        self.containers.retain(|_, l| l.active(now));
        if self.containers.len() < MAX_CONTAINER_LEASES {
            self.containers.insert(link.to_owned(), lease);
        }
    }

    /// True when the hedge budget (`max` in flight) has a free slot; lapsed entries are dropped.
    pub fn hedge_available(&mut self, now: Instant, max: usize) -> bool {
        self.hedges.retain(|l| l.active(now));
        self.hedges.len() < max
    }

    /// Counts a hedged attempt against the budget until it ends or `lease.until` passes.
    pub fn take_hedge(&mut self, lease: Lease) {
        self.hedges.push(lease);
    }

    /// Hedged attempts currently counted.
    pub fn hedges(&self) -> usize {
        self.hedges.len()
    }

    /// Releases every claim `holder` has: the account or token fetch, a container fetch, a hedge
    /// slot. Claims held by others are untouched; calling it twice is harmless.
    pub fn release(&mut self, holder: AttemptId) {
        if self.account.is_some_and(|l| l.holder == holder) {
            self.account = None;
        }
        if self.token.is_some_and(|l| l.holder == holder) {
            self.token = None;
        }
        self.containers.retain(|_, l| l.holder != holder);
        self.hedges.retain(|l| l.holder != holder);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock once
    fn t0() -> Instant {
        Instant::now()
    }

    fn lease(holder: u64, until: Instant) -> Lease {
        Lease {
            holder: AttemptId(holder),
            until,
        }
    }

    #[test]
    fn release_frees_everything_one_attempt_holds_and_nothing_else() {
        let now = t0();
        let later = now + Duration::from_secs(5);
        let mut l = Leases::default();
        l.take_account(lease(1, later));
        l.take_container("dbs/a/colls/b", lease(1, later), now);
        l.take_container("dbs/a/colls/c", lease(2, later), now);
        l.take_hedge(lease(1, later));
        l.take_hedge(lease(3, later));
        l.release(AttemptId(1));
        assert!(l.account_free(now, &[]));
        assert!(l.container_free("dbs/a/colls/b", now, &[]));
        assert!(!l.container_free("dbs/a/colls/c", now, &[]));
        assert_eq!(l.hedges(), 1);
        l.release(AttemptId(1)); // idempotent
        assert_eq!(l.hedges(), 1);
    }

    #[test]
    fn a_lease_is_free_for_its_holder_and_after_it_lapses() {
        let now = t0();
        let until = now + Duration::from_millis(10);
        let mut l = Leases::default();
        l.take_account(lease(7, until));
        assert!(!l.account_free(now, &[AttemptId(6)]));
        assert!(l.account_free(now, &[AttemptId(7)]));
        assert!(l.account_free(until, &[]));
        l.take_token(lease(8, until));
        assert!(!l.token_free(now));
        l.token_done();
        assert!(l.token_free(now));
    }

    #[test]
    fn the_hedge_budget_forgets_lapsed_entries() {
        let now = t0();
        let mut l = Leases::default();
        l.take_hedge(lease(1, now + Duration::from_millis(5)));
        assert!(!l.hedge_available(now, 1));
        assert!(l.hedge_available(now + Duration::from_millis(5), 1));
    }

    #[test]
    fn container_leases_stay_bounded() {
        let now = t0();
        let later = now + Duration::from_secs(1);
        let mut l = Leases::default();
        for i in 0..(MAX_CONTAINER_LEASES as u64 + 10) {
            l.take_container(&format!("dbs/d/colls/{i}"), lease(i, later), now);
        }
        assert_eq!(l.containers.len(), MAX_CONTAINER_LEASES);
    }
}
