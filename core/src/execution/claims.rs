//! Claims: the leases one execution holds on its driver's shared state ([`crate::leases`]).
//!
//! The execution takes and frees leases only through [`Claims`], which records each one it
//! took. A claim is freed by [`Claims::release`] when what it guarded is over (a fetch
//! finished, a hedge answered), or with everything else when the execution ends
//! ([`Claims::release_all`], called by `abort_all`, which every ending goes through). So an
//! execution cannot end and leave a claim for others to wait out until it lapses. The one
//! claim that may outlive its execution is a token acquisition: the token arrives through
//! `Driver::handle_token` after the operation that asked for it finished; only a cancelled
//! operation (whose token will never come) frees it ([`Claims::cancel`]).

use std::time::Instant;

use crate::ids::AttemptId;
use crate::leases::{Lease, Leases};

/// The leases this execution holds.
#[derive(Debug, Default)]
pub(super) struct Claims {
    /// Holders of the account, container-metadata and hedge leases taken and not yet freed (a
    /// few at most; empty, and never allocated, on a warm driver's point operation).
    held: Vec<AttemptId>,
    /// The token acquisition this execution started, if any.
    token: Option<AttemptId>,
}

impl Claims {
    /// Claims the account metadata fetch for attempt `holder` until `until`.
    pub(super) fn take_account(&mut self, leases: &mut Leases, holder: AttemptId, until: Instant) {
        leases.take_account(Lease { holder, until });
        self.held.push(holder);
    }

    /// Claims the routing-metadata fetch of the container at `link`.
    pub(super) fn take_container(
        &mut self,
        leases: &mut Leases,
        link: &str,
        holder: AttemptId,
        until: Instant,
        now: Instant,
    ) {
        leases.take_container(link, Lease { holder, until }, now);
        self.held.push(holder);
    }

    /// Counts hedged attempt `holder` against the driver's hedge budget until `until`.
    pub(super) fn take_hedge(&mut self, leases: &mut Leases, holder: AttemptId, until: Instant) {
        leases.take_hedge(Lease { holder, until });
        self.held.push(holder);
    }

    /// Claims the token acquisition (`holder` names the request, not an attempt).
    pub(super) fn take_token(&mut self, leases: &mut Leases, holder: AttemptId, until: Instant) {
        leases.take_token(Lease { holder, until });
        self.token = Some(holder);
    }

    /// Frees what `holder` claimed: its fetch or hedge is over. A holder this execution does
    /// not hold (already freed, or never a claim) is left alone.
    pub(super) fn release(&mut self, leases: &mut Leases, holder: AttemptId) {
        if let Some(i) = self.held.iter().position(|h| *h == holder) {
            self.held.swap_remove(i);
            leases.release(holder);
        }
    }

    /// The execution ended: frees every claim but a token acquisition in progress.
    pub(super) fn release_all(&mut self, leases: &mut Leases) {
        for holder in self.held.drain(..) {
            leases.release(holder);
        }
    }

    /// The execution was cancelled: frees every claim, the token acquisition too (a cancelled
    /// operation never delivers the token it asked for).
    pub(super) fn cancel(&mut self, leases: &mut Leases) {
        self.release_all(leases);
        if let Some(holder) = self.token.take() {
            leases.release(holder);
        }
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

    #[test]
    fn an_ended_execution_leaves_no_claim_but_its_token_request() {
        let now = t0();
        let until = now + Duration::from_secs(5);
        let mut leases = Leases::default();
        let mut c = Claims::default();
        c.take_account(&mut leases, AttemptId(1), until);
        c.take_container(&mut leases, "dbs/a/colls/b", AttemptId(2), until, now);
        c.take_hedge(&mut leases, AttemptId(3), until);
        c.take_token(&mut leases, AttemptId(4), until);
        c.release_all(&mut leases);
        assert!(leases.account_free(now, &[]));
        assert!(leases.container_free("dbs/a/colls/b", now, &[]));
        assert_eq!(leases.hedges(), 0);
        assert!(
            !leases.token_free(now),
            "the token arrives after the operation ends"
        );
        c.cancel(&mut leases);
        assert!(leases.token_free(now));
    }

    #[test]
    fn release_frees_only_what_this_execution_holds() {
        let now = t0();
        let until = now + Duration::from_secs(5);
        let mut leases = Leases::default();
        let (mut ours, mut theirs) = (Claims::default(), Claims::default());
        theirs.take_account(&mut leases, AttemptId(1), until);
        ours.release(&mut leases, AttemptId(1));
        assert!(
            !leases.account_free(now, &[]),
            "another execution's claim stays"
        );
        ours.take_hedge(&mut leases, AttemptId(2), until);
        ours.release(&mut leases, AttemptId(2));
        ours.release(&mut leases, AttemptId(2)); // twice is harmless
        assert_eq!(leases.hedges(), 0);
        theirs.release(&mut leases, AttemptId(1));
        assert!(leases.account_free(now, &[]));
    }
}
