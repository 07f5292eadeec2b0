//! Emitting attempts: routing each to a region, signing it, and arming hedges.

use super::*;

impl Execution {
    /// Routes and emits one attempt for `purpose`. `None`: the state changed instead (the
    /// execution finished or must re-plan); the poll loop goes round again.
    pub(super) fn send(&mut self, d: &mut Driver, purpose: Purpose, now: Now) -> Option<Action> {
        if purpose == Purpose::Operation && self.op.is_none() {
            let c = ConfigError::InvalidOperation("no operation".into());
            self.finish(d, Err(Failure::Config(c)), now.mono);
            return None;
        }
        // Route and context first: they update this execution's routing state.
        let mut counted = false;
        let (route, ctx, timeout) = match purpose {
            Purpose::AccountRead => {
                // The global endpoint first, then the regions (a dead global endpoint must not
                // stop metadata refreshes).
                let candidates = d.locations.account_read_candidates();
                let route = candidates
                    .get(self.meta.account_read_index % candidates.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| d.locations.global().clone());
                let ctx = if self.attempts == 0 {
                    ExecutionContext::Initial
                } else {
                    ExecutionContext::Retry
                };
                let timeout = metadata_timeout(d, self.meta.account_attempts.len());
                (route, ctx, timeout)
            }
            Purpose::Operation => {
                let (route, tried) = self.resolve_route(d, now.mono);
                counted = tried;
                let ctx = self.context_for(&route);
                let ctx = if self.regions.probing {
                    ExecutionContext::CircuitBreakerProbe
                } else {
                    ctx
                };
                (route, ctx, d.eff.request_timeout)
            }
            Purpose::TrackingCheck => {
                let route = self
                    .regions
                    .current
                    .clone()
                    .unwrap_or_else(|| d.locations.global().clone());
                (route, ExecutionContext::Retry, d.eff.request_timeout)
            }
            Purpose::ContainerRead | Purpose::PkRangeRead => {
                // Routing reads walk the read regions on failure like operations do, but keep
                // their own state: they do not move the operation.
                let route = self
                    .routing
                    .resolve_route(d, &self.regions.excluded, now.mono);
                let ctx = if self.routing.attempts.is_empty() {
                    ExecutionContext::Initial
                } else {
                    ExecutionContext::Retry
                };
                (route, ctx, metadata_timeout(d, self.routing.failures))
            }
        };
        let action = self.emit(d, purpose, &route, ctx, timeout, false, now);
        if purpose == Purpose::Operation {
            // Moved in after the attempt is built, not cloned in before (`context_for`): a
            // clone is two shared reference counts raised and later dropped, atomics natively.
            self.regions.set_current(route, counted);
        }
        let action = action?;
        // Each attempt that starts alone (the first, or a retry) may be hedged.
        let alone = self
            .in_flight
            .iter()
            .filter(|a| a.purpose == Purpose::Operation)
            .count()
            == 1;
        if purpose == Purpose::Operation && alone {
            self.arm_hedging(d, now.mono);
        }
        Some(action)
    }

    /// Sends a hedge to the next region this execution has not tried, if the operation is
    /// eligible, under its per-operation limit and the driver's concurrency budget.
    pub(super) fn send_hedge(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        if self.hedge.sent >= d.eff.hedging.max_hedges_per_operation {
            return None;
        }
        let candidates =
            d.locations
                .candidates(self.regions.write_regions, &self.regions.excluded, now.mono);
        let busy: Vec<&Arc<str>> = self.in_flight.iter().map(|a| &a.endpoint).collect();
        let route = candidates
            .iter()
            .find(|r| !self.regions.has_tried(&r.endpoint) && !busy.contains(&&r.endpoint))?
            .clone();
        if !d.hedge_budget_available(now.mono) {
            return None;
        }
        if self.regions.tried_len() < MAX_TRIED {
            self.regions.push_tried(route.endpoint.clone());
        }
        self.hedge.sent += 1;
        self.timers
            .set(Timer::Hedge, instant_after(now.mono, d.eff.hedging.step));
        self.emit(
            d,
            Purpose::Operation,
            &route,
            ExecutionContext::Hedging,
            d.eff.request_timeout,
            true,
            now,
        )
    }

    /// Arms the hedge timer after an operation's first attempt when hedging applies.
    pub(super) fn arm_hedging(&mut self, d: &Driver, now: Instant) {
        let Some(p) = &self.op else { return };
        let eligible = self.hedge.enabled
            && (p.class.read_only
                || (d.eff.hedging.writes_on_multi_write && d.locations.multi_write()))
            && d.locations
                .has_alternatives(self.regions.write_regions, &self.regions.excluded);
        if eligible {
            self.timers
                .set(Timer::Hedge, instant_after(now, d.eff.hedging.threshold));
        }
    }

    /// Builds, records and returns one attempt. `None`: no attempt could be built and the
    /// state changed instead (finished, or routing given up); the poll loop goes round again.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit(
        &mut self,
        d: &mut Driver,
        purpose: Purpose,
        route: &RegionRoute,
        ctx: ExecutionContext,
        timeout: Duration,
        hedge: bool,
        now: Now,
    ) -> Option<Action> {
        // What to send must exist before any id or lease is handed out.
        let missing = match purpose {
            Purpose::AccountRead => false,
            Purpose::Operation => self.op.is_none(),
            Purpose::TrackingCheck => self.tracked.check.is_none(),
            Purpose::ContainerRead | Purpose::PkRangeRead => self.routing.meta.is_none(),
        };
        if missing {
            let msg = format!(
                "{} attempt planned without a prepared request",
                purpose.as_str()
            );
            return self.internal(d, msg, now);
        }
        let id = d.next_attempt_id();
        if purpose == Purpose::AccountRead {
            let until = instant_after(now.mono, d.eff.metadata_request_timeout);
            self.claims.take_account(&mut d.leases, id, until);
            self.meta.account_attempts.push(id);
        }
        if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) {
            if let Some(link) = self
                .routing
                .meta
                .as_ref()
                .and_then(|m| m.container.as_ref())
                .map(|c| c.link_arc().clone())
            {
                let until = instant_after(now.mono, d.eff.metadata_request_timeout);
                self.claims
                    .take_container(&mut d.leases, &link, id, until, now.mono);
            }
            self.routing.attempts.push(id);
        }
        let prepared: &mut Prepared = match purpose {
            Purpose::AccountRead => {
                let activity = self.metadata_activity_header(d);
                &mut *self
                    .meta
                    .account_read
                    .get_or_insert_with(|| Box::new(Prepared::account_read(d, activity)))
            }
            // Checked at the top: `None` cannot happen here; were it to, it ends as `Internal`.
            Purpose::Operation => match &mut self.op {
                Some(p) => p,
                None => return self.internal(d, "operation vanished".into(), now),
            },
            Purpose::TrackingCheck => match &mut self.tracked.check {
                Some(t) => &mut t.check,
                None => return self.internal(d, "tracking check vanished".into(), now),
            },
            Purpose::ContainerRead | Purpose::PkRangeRead => match &mut self.routing.meta {
                Some(m) => m,
                None => return self.internal(d, "routing request vanished".into(), now),
            },
        };
        let url = prepared.url(route);
        let tentative =
            purpose == Purpose::Operation && !prepared.class.read_only && d.locations.multi_write();
        let hub_only = self.regions.hub_only && purpose == Purpose::Operation;
        let range = if purpose == Purpose::Operation {
            self.routing.range.as_deref()
        } else {
            None
        };
        let headers = prepared.attempt_headers(d, now.wall, hub_only, tentative, range);
        let uri = d.uri_base.uri_shared(&route.endpoint, url.bytes());
        let (method, body) = (prepared.method.clone(), prepared.body.clone());
        let (headers, uri) = match (headers, uri) {
            (Ok(h), Ok(u)) => (h, u),
            (Err(_), _) if matches!(purpose, Purpose::ContainerRead | Purpose::PkRangeRead) => {
                // The credential cannot sign the container's metadata (a resource token scoped
                // to one item): go ahead unrouted rather than fail an operation that can succeed.
                if let Some(link) = self
                    .routing
                    .meta
                    .as_ref()
                    .and_then(|m| m.container.as_ref())
                {
                    d.containers.mark_unroutable(link.link(), now.mono);
                }
                self.claims.release(&mut d.leases, id);
                self.routing.done = true;
                self.phase = Phase::Ready;
                return None;
            }
            (Err(c), _) => {
                self.claims.release(&mut d.leases, id);
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return None;
            }
            (_, Err(e)) => {
                self.claims.release(&mut d.leases, id);
                let c =
                    ConfigError::InvalidOperation(format!("cannot form a URL from {url:?}: {e}"));
                self.finish(d, Err(Failure::Config(c)), now.mono);
                return None;
            }
        };
        let mut deadline = instant_after(now.mono, timeout);
        if let Some(op_deadline) = self.timers.get(Timer::Operation) {
            deadline = deadline.min(op_deadline);
        }
        let slot = self
            .diag
            .start_attempt(id, purpose, ctx, route.name.clone(), url, now.mono);
        self.in_flight.push(InFlight {
            id,
            started: now.mono,
            endpoint: route.endpoint.clone(),
            purpose,
            deadline,
            slot,
            sent: RequestSent::NotSent,
            hedge,
        });
        if hedge {
            self.claims.take_hedge(&mut d.leases, id, deadline);
        }
        self.report.bytes_sent = self.report.bytes_sent.saturating_add(body.len() as u64);
        self.attempts += 1;
        self.phase = Phase::InFlight;
        Some(Action::Send(Box::new(OutgoingRequest {
            attempt: id,
            method,
            uri,
            headers,
            body,
            region: route.name.clone(),
            purpose,
            execution_context: ctx,
            deadline,
            max_response_bytes: d.eff.max_response_bytes,
        })))
    }

    /// Ends the execution with [`ErrorKind::Internal`]: an invariant of the core broke. The
    /// message names it; the poll loop goes round again and returns `Done`.
    pub(super) fn internal(&mut self, d: &mut Driver, what: String, now: Now) -> Option<Action> {
        let msg = format!(
            "internal error: {what} (phase {:?}, {} attempt(s)); please report this with the \
             diagnostics",
            self.phase, self.attempts
        );
        self.finish(d, Err(Failure::Internal(msg)), now.mono);
        None
    }
}
