//! The execution's state, one small struct per concern.

use super::*;

/// Where an operation's attempts go across regions (the state `resolve_route` keeps).
#[derive(Debug, Default)]
pub(super) struct RegionState {
    /// Where the last operation attempt went.
    pub(super) current: Option<RegionRoute>,
    /// Every endpoint this execution tried (bounded by `MAX_TRIED`).
    pub(super) tried: crate::drain::InlineList<Arc<str>, 4>,
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
