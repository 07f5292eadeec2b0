//! The execution's state, one small struct per concern.

use super::*;

/// Where an operation's attempts go across regions (the state `resolve_route` keeps).
#[derive(Debug, Default)]
pub(super) struct RegionState {
    /// Where the last operation attempt went.
    pub(super) current: Option<RegionRoute>,
    /// The endpoints this execution tried (bounded by `MAX_TRIED`), but for the current
    /// region's: see `current_tried` and [`RegionState::has_tried`].
    tried: crate::drain::InlineList<Arc<str>, 4>,
    /// The current region counts as tried without being in `tried`: it moves there when
    /// another region becomes current. Keeping a copy of its endpoint in `tried` from the start
    /// was a shared reference count raised and dropped per operation (atomics natively).
    current_tried: bool,
    /// Where the next attempt goes, as the policy table said.
    pub(super) next: Route,
    /// The operation goes to write regions.
    pub(super) write_regions: bool,
    /// Regions the caller excluded.
    pub(super) excluded: Vec<String>,
    /// The current attempt probes a partition whose circuit breaker was open.
    pub(super) probing: bool,
    /// Send the hub-region-only header (404/1002, second retry).
    pub(super) hub_only: bool,
}

impl RegionState {
    /// Nothing tried yet; `excluded` regions are skipped, `write_regions` picks the write ones.
    pub(super) fn new(excluded: Vec<String>, write_regions: bool) -> Self {
        RegionState {
            excluded,
            write_regions,
            ..RegionState::default()
        }
    }

    /// Whether this execution tried `endpoint` (an operation attempt or a hedge went there
    /// since the tried set was last cleared).
    pub(super) fn has_tried(&self, endpoint: &Arc<str>) -> bool {
        self.tried.contains(endpoint)
            || (self.current_tried
                && self
                    .current
                    .as_ref()
                    .is_some_and(|c| c.endpoint == *endpoint))
    }

    /// How many endpoints count as tried.
    pub(super) fn tried_len(&self) -> usize {
        self.tried.len() + usize::from(self.current_tried)
    }

    /// Records a hedge's endpoint as tried.
    pub(super) fn push_tried(&mut self, endpoint: Arc<str>) {
        self.tried.push(endpoint);
    }

    /// Forgets every tried endpoint (all were tried: the walk starts again).
    pub(super) fn clear_tried(&mut self) {
        self.tried.clear();
        self.current_tried = false;
    }

    /// Makes `route` the current region; `tried`: it counts as tried (it was not yet, and the
    /// bound has room). The region it replaces keeps counting, from `tried`.
    pub(super) fn set_current(&mut self, route: RegionRoute, tried: bool) {
        if let Some(previous) = self.current.replace(route).filter(|_| self.current_tried) {
            self.tried.push(previous.endpoint);
        }
        self.current_tried = tried;
    }
}

/// The retry budgets and what the retries may have applied.
#[derive(Debug, Default)]
pub(super) struct RetryState {
    pub(super) budgets: Budgets,
    /// An operation attempt that may have been applied was retried.
    pub(super) maybe_applied: bool,
}

/// Hedging asked for (operation option over driver option), and hedges sent.
#[derive(Debug, Default)]
pub(super) struct HedgeState {
    pub(super) enabled: bool,
    pub(super) sent: u32,
}

/// Shared-metadata work of this execution.
#[derive(Debug, Default)]
pub(super) struct MetaState {
    /// The prepared `GET /`, built on first use (boxed: rare, and the execution is moved
    /// several times on the hot path).
    pub(super) account_read: Option<Box<Prepared>>,
    /// Account reads this execution sent (it may retry its own refresh under its lease).
    pub(super) account_attempts: Vec<AttemptId>,
    /// Which account-read candidate the next read goes to.
    pub(super) account_read_index: usize,
    /// A token this execution acquired had already expired when it arrived (the credential's
    /// clock or cache is off, or the wall clock is): it is used as it is, and this execution
    /// starts no other acquisition, for the next would most likely come back the same and the
    /// operation would ask again without end. The service judges the token; the next operation
    /// acquires afresh.
    pub(super) stale_token_accepted: bool,
}

/// Tracked writes (opt-in): how to recognise our own earlier success.
#[derive(Debug, Default)]
/// Boxed: opt-in and rare, and the execution is moved several times on the hot path.
pub(super) struct TrackingState {
    pub(super) check: Option<Box<tracking::Tracking>>,
    /// The 409/412 being checked against the tracking id.
    pub(super) failure: Option<Box<Failure>>,
    /// The read-back is due.
    pub(super) pending: bool,
}

/// What the metrics get once the outcome is known.
#[derive(Debug, Default)]
pub(super) struct ReportState {
    /// Recorded once.
    pub(super) metrics_recorded: bool,
    pub(super) bytes_sent: u64,
    pub(super) bytes_received: u64,
}

#[cfg(test)]
mod tests {
    use super::super::route::MAX_TRIED;
    use super::*;
    use crate::rng::DetRng;

    /// The tried set as it was kept before `current_tried`: every counted pick copied in when
    /// picked.
    #[derive(Default)]
    struct Eager {
        tried: Vec<Arc<str>>,
    }

    /// Random walks of picks (as `resolve_route` and `send` make them), hedges and wrap-arounds
    /// over more endpoints than the bound: the lazy set answers as the eager one did.
    #[test]
    fn the_current_region_counts_as_tried_as_when_it_was_copied_in() {
        let endpoints: Vec<Arc<str>> = (0..MAX_TRIED + 8)
            .map(|i| Arc::from(format!("https://r{i}.example/")))
            .collect();
        let route = |e: &Arc<str>| RegionRoute {
            name: Arc::from("r"),
            endpoint: e.clone(),
        };
        for seed in 0..20 {
            let mut rng = DetRng::new(seed);
            let (mut lazy, mut eager) = (RegionState::default(), Eager::default());
            // Few endpoints for some seeds (repeats), all of them for others (the bound).
            let pool = if seed % 2 == 0 { 5 } else { endpoints.len() } as u64;
            for step in 0..3000 {
                let e = &endpoints[rng.below(pool) as usize];
                match rng.below(10) {
                    // A hedge to an untried endpoint.
                    0 | 1 => {
                        if !lazy.has_tried(e) && lazy.tried_len() < MAX_TRIED {
                            lazy.push_tried(e.clone());
                        }
                        if !eager.tried.contains(e) && eager.tried.len() < MAX_TRIED {
                            eager.tried.push(e.clone());
                        }
                    }
                    // Every candidate tried: the walk starts again.
                    2 => {
                        lazy.clear_tried();
                        eager.tried.clear();
                    }
                    // An operation attempt.
                    _ => {
                        let counted = !lazy.has_tried(e) && lazy.tried_len() < MAX_TRIED;
                        lazy.set_current(route(e), counted);
                        if !eager.tried.contains(e) && eager.tried.len() < MAX_TRIED {
                            eager.tried.push(e.clone());
                        }
                    }
                }
                assert_eq!(
                    lazy.tried_len(),
                    eager.tried.len(),
                    "seed {seed} step {step}"
                );
                for probe in &endpoints {
                    assert_eq!(
                        lazy.has_tried(probe),
                        eager.tried.contains(probe),
                        "seed {seed} step {step} {probe}"
                    );
                }
            }
        }
    }
}
