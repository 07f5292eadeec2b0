//! Applying the policy table to a failed attempt: budgets, delays, routes and effects.

use super::*;

impl Execution {
    /// Applies the table's answer to a failed attempt: schedule a retry or finish.
    pub(super) fn after_failure(
        &mut self,
        d: &mut Driver,
        attempt: &InFlight,
        signal: Signal,
        retry_after: Option<Duration>,
        failure: Failure,
        now: Now,
    ) {
        if self.outcome.is_some() {
            return;
        }
        let purpose = attempt.purpose;
        if purpose == Purpose::TrackingCheck {
            // The read-back failed: report the 409/412 it was checking, never replay the write.
            let original = self.tracked.failure.take().map_or(failure, |f| *f);
            self.finish(d, Err(original), now.mono);
            return;
        }
        let deadline_passed = self
            .timers
            .get(Timer::Operation)
            .is_some_and(|dl| now.mono >= dl);
        let situation = Situation {
            class: self.class_for(purpose),
            operation: purpose == Purpose::Operation,
            others_in_flight: self
                .in_flight
                .iter()
                .any(|a| a.purpose == Purpose::Operation),
            deadline_passed,
        };
        let decision = decide_in(signal, situation);
        // The caller's deadline ending an attempt says nothing about the region.
        let region_failed = decision.reaction != Reaction::DeadlineExceeded;
        if purpose == Purpose::Operation && region_failed && decision.availability_failure {
            // Every availability failure counts, whether or not it is retried.
            self.record_partition_failure(d, attempt, now.mono);
        }
        if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) && region_failed {
            self.routing.failures += 1;
        }
        let (budget, delay, route, effects, floor) = match decision.reaction {
            Reaction::Retry {
                budget,
                delay,
                route,
                effects,
                floor,
            } => (budget, delay, route, effects, floor),
            Reaction::DropOut => return,
            Reaction::DeadlineExceeded => {
                let last = match failure {
                    Failure::Transport(t) => Some(t),
                    _ => None,
                };
                let msg = format!(
                    "end-to-end timeout of {:?} elapsed after {} attempt(s)",
                    self.end_to_end.unwrap_or_default(),
                    self.attempts
                );
                self.finish(d, Err(Failure::Timeout(msg, last)), now.mono);
                return;
            }
            Reaction::Success | Reaction::Fail => {
                self.give_up(d, attempt, failure, now);
                return;
            }
        };
        let wait = self.delay(d, budget, delay, retry_after);
        let past_deadline = self
            .timers
            .get(Timer::Operation)
            .is_some_and(|dl| instant_after(now.mono, wait) >= dl);
        let floor = match floor {
            Floor::None => 0,
            Floor::EveryRegionOnce => {
                let regions = d
                    .locations
                    .candidates(self.regions.write_regions, &self.regions.excluded, now.mono)
                    .len();
                u32::try_from(regions.saturating_sub(1)).unwrap_or(u32::MAX)
            }
        };
        if past_deadline
            || !self
                .retry
                .budgets
                .try_take_at_least(budget, wait, &d.limits, floor)
        {
            self.give_up(d, attempt, failure, now);
            return;
        }
        self.apply_effects(d, effects, &attempt.endpoint, now.mono);
        if purpose == Purpose::AccountRead && route == Route::NextRegion {
            self.meta.account_read_index = self.meta.account_read_index.wrapping_add(1);
        }
        if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) {
            self.routing.next_route = Some(route);
        }
        if purpose == Purpose::Operation {
            // Remember that an attempt we are about to replay may already have been applied.
            self.retry.maybe_applied |= decision.may_have_applied;
            if route == Route::WriteRegion {
                self.regions.write_regions = true;
            }
            self.regions.next = route;
            if effects
                .hub_region_only_from
                .is_some_and(|n| self.retry.budgets.used(budget) >= n)
            {
                self.regions.hub_only = true;
            }
        }
        // Nothing left to hedge until the retry starts (it re-arms hedging for itself).
        self.timers.stop(Timer::Hedge);
        if wait.is_zero() {
            self.phase = if self.in_flight.is_empty() {
                Phase::Ready
            } else {
                Phase::InFlight
            };
        } else {
            self.timers
                .set(Timer::Backoff, instant_after(now.mono, wait));
            self.phase = Phase::Backoff;
        }
    }

    /// Feeds an availability failure of this partition in that region to the circuit breaker.
    pub(super) fn record_partition_failure(
        &mut self,
        d: &mut Driver,
        attempt: &InFlight,
        now: Instant,
    ) {
        if !d.eff.circuit_breaker.enabled {
            return;
        }
        if let Some(key) = self.breaker_key(&attempt.endpoint) {
            let write = !self.class_for(Purpose::Operation).read_only;
            let options = d.eff.circuit_breaker.clone();
            d.breaker.record_failure(key, write, now, &options);
        }
    }

    /// No more retries for this attempt. A failed *refresh* of account metadata does not fail
    /// the operation while the old metadata is still there (stale-while-revalidate): the lease
    /// is released, the next refresh is due one interval later, and the operation proceeds.
    fn give_up(&mut self, d: &mut Driver, attempt: &InFlight, failure: Failure, now: Now) {
        if matches!(
            attempt.purpose,
            Purpose::ContainerRead | Purpose::PkRangeRead
        ) {
            self.routing_gave_up(d, attempt);
            return;
        }
        if attempt.purpose == Purpose::AccountRead && d.metadata.known() {
            self.release_account_lease(d, attempt.id);
            d.metadata.refresh_failed(now.mono);
            self.phase = if self.in_flight.is_empty() {
                Phase::Ready
            } else {
                Phase::InFlight
            };
            return;
        }
        self.finish(d, Err(failure), now.mono);
    }

    pub(super) fn delay(
        &mut self,
        d: &mut Driver,
        budget: Budget,
        rule: DelayRule,
        retry_after: Option<Duration>,
    ) -> Duration {
        let n = self.retry.budgets.used(budget);
        match rule {
            DelayRule::None => Duration::ZERO,
            DelayRule::RetryAfter => {
                let base = retry_after
                    .filter(|d| !d.is_zero())
                    .unwrap_or(d.eff.throttle_fallback_delay);
                base.saturating_add(Duration::from_millis(d.rng.below(RETRY_JITTER_MS)))
            }
            DelayRule::FailoverInterval if n == 0 => Duration::ZERO,
            DelayRule::FailoverInterval => FAILOVER_RETRY_INTERVAL,
            DelayRule::RetryWithBackoff => {
                // .NET GatewayRetryWithRetryPolicy: 10 ms × 2ⁿ + [0, 5) ms, capped at 1 s.
                let step = Duration::from_millis(10)
                    .saturating_mul(1u32 << n.min(16))
                    .min(Duration::from_secs(1));
                step.saturating_add(Duration::from_millis(d.rng.below(RETRY_JITTER_MS)))
            }
        }
    }

    pub(super) fn apply_effects(
        &mut self,
        d: &mut Driver,
        effects: Effects,
        endpoint: &str,
        now: Instant,
    ) {
        if effects.mark_read_unavailable || effects.mark_write_unavailable {
            d.locations.mark_unavailable(
                endpoint,
                effects.mark_read_unavailable,
                effects.mark_write_unavailable,
                now,
            );
        }
        if effects.refresh_account {
            d.force_account_refresh(now);
        }
        if effects.refresh_pk_ranges || effects.refresh_container {
            self.routing_invalidate(d, effects.refresh_container);
        }
    }
}
