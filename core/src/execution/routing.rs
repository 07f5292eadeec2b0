//! Partition routing for item operations: the container's partition key definition and pk
//! ranges are fetched (under the container's lease) before the operation's first attempt, so the
//! session token of the right range is sent and topology changes can be followed.
//!
//! Routing metadata never fails an operation: when it cannot be read, the operation goes ahead
//! unrouted (the gateway routes it anyway) and sends every session token of its container.

use super::*;
use crate::partition::{
    check_effective_partition_key, effective_partition_key, parse_partition_key_ranges,
};

/// Pages of a pk-range feed read per refresh (a container has at most a few thousand ranges).
const MAX_PK_RANGE_PAGES: usize = 64;

/// The one field routing reads from a container: its other properties (the indexing and other
/// policies) are neither parsed nor able to make a container unroutable.
#[derive(serde::Deserialize)]
struct ContainerPartitionKey {
    #[serde(rename = "partitionKey")]
    partition_key: crate::models::PartitionKeyDefinition,
}

impl Execution {
    /// Resolves the operation's partition key range, or returns the metadata request (or wait)
    /// needed first. `None` means routing is settled for now.
    pub(super) fn routing_step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        if self.routing.done {
            return None;
        }
        // Item operations with a partition key route to its range; a cross-partition query's
        // plan request fetches the map for the fan-out (`want_map`) without a key.
        let want_map = self.routing.want_map;
        // Borrowed, not cloned: the common (cached) path needs no copy of the container or key.
        let target = self.op.as_ref().and_then(|p| {
            let pk = p.partition_key.as_ref();
            (pk.is_some() || want_map).then(|| Some((p.container.as_ref()?, pk)))?
        });
        let Some((container, pk)) = target.filter(|_| d.eff.partition_routing || want_map) else {
            self.routing.done = true;
            return None;
        };
        let link = container.link();
        if d.containers.is_unroutable(link, now.mono) {
            self.routing.done = true;
            return None;
        }
        let lease_free = d
            .leases
            .container_free(link, now.mono, &self.routing.attempts);
        let (have_props, have_map, stale) = match d.containers.get(link) {
            Some(e) => (true, e.routing.is_some(), e.ranges_stale),
            None => (false, false, false),
        };
        if !have_props || !have_map || stale {
            if lease_free {
                let activity = self.metadata_activity_header(d);
                let (purpose, meta) = if !have_props {
                    (
                        Purpose::ContainerRead,
                        Prepared::metadata_read(d, activity, container, None),
                    )
                } else {
                    let etag = d
                        .containers
                        .get(link)
                        .filter(|e| e.routing.is_some())
                        .and_then(|e| e.ranges_etag.clone());
                    let cont = self.routing.continuation.clone();
                    let meta = Prepared::metadata_read(
                        d,
                        activity,
                        container,
                        Some((etag.as_deref(), cont.as_deref())),
                    );
                    self.routing.incremental = etag.is_some();
                    (Purpose::PkRangeRead, meta)
                };
                self.routing.meta = Some(Box::new(meta));
                return self.send(d, purpose, now);
            }
            if !have_props || !have_map {
                let lease = d.leases.container(link);
                return Some(self.wait_recheck(lease, now));
            }
            // Stale but usable: another execution is refreshing it.
        }
        if let (Some(e), Some(pk)) = (d.containers.get(link), pk) {
            if let Some(map) = &e.routing {
                let def = &e.partition_key;
                // A single range holds every EPK: check the key as hashing it would, and skip
                // the hash.
                let range = match map.only_route() {
                    Some(only) => check_effective_partition_key(pk, def).ok().map(|()| only),
                    None => effective_partition_key(pk, def)
                        .ok()
                        .and_then(|epk| map.route_for(&epk)),
                };
                if let Some(r) = range {
                    self.routing.range = Some(r.clone());
                }
            }
        }
        self.routing.done = true;
        None
    }

    /// Handles a successful container or pk-range read.
    pub(super) fn routing_response(
        &mut self,
        d: &mut Driver,
        attempt: &InFlight,
        status: u16,
        headers: &ResponseHeaders,
        body: &[u8],
    ) {
        let Some(link) = self
            .routing
            .meta
            .as_ref()
            .and_then(|m| m.container.as_ref())
            .map(|c| c.link_arc().clone())
        else {
            self.routing.done = true;
            return;
        };
        self.phase = Phase::Ready;
        if attempt.purpose == Purpose::ContainerRead {
            self.claims.release(&mut d.leases, attempt.id);
            match serde_json::from_slice::<ContainerPartitionKey>(body) {
                Ok(p) => d.containers.set_properties(&link, p.partition_key),
                Err(_) => {
                    d.containers.mark_unroutable(&link, self.last_mono);
                    self.routing.done = true;
                }
            }
            return;
        }
        if status == 304 {
            self.claims.release(&mut d.leases, attempt.id);
            d.containers.ranges_current(&link);
            return;
        }
        match parse_partition_key_ranges(body) {
            Ok(mut ranges) => self.routing.pages.append(&mut ranges),
            Err(_) => {
                self.claims.release(&mut d.leases, attempt.id);
                d.containers.mark_unroutable(&link, self.last_mono);
                self.routing.done = true;
                return;
            }
        }
        self.routing.page_count += 1;
        let next = headers
            .continuation()
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if next.is_some() && self.routing.page_count < MAX_PK_RANGE_PAGES {
            self.routing.continuation = next; // the lease is ours: routing_step reads the next page
            return;
        }
        self.claims.release(&mut d.leases, attempt.id);
        let pages = std::mem::take(&mut self.routing.pages);
        let etag = headers.etag().map(str::to_owned);
        self.routing.continuation = None;
        self.routing.page_count = 0;
        if self.routing.incremental {
            d.containers.apply_range_changes(&link, pages, etag);
        } else if d.containers.set_ranges(&link, pages, etag).is_err() {
            d.containers.mark_unroutable(&link, self.last_mono);
            self.routing.done = true;
        }
    }

    /// A routing read failed for good: release its lease and go ahead unrouted.
    pub(super) fn routing_gave_up(&mut self, d: &mut Driver, attempt: &InFlight) {
        if let Some(link) = self
            .routing
            .meta
            .as_ref()
            .and_then(|m| m.container.as_ref())
            .map(|c| c.link_arc().clone())
        {
            self.claims.release(&mut d.leases, attempt.id);
            d.containers.mark_unroutable(&link, self.last_mono);
        }
        self.routing.done = true;
        self.routing.pages.clear();
        self.routing.continuation = None;
        self.phase = if self.in_flight.is_empty() {
            Phase::Ready
        } else {
            Phase::InFlight
        };
    }

    /// A topology change or recreated container: re-resolve before the next attempt.
    pub(super) fn routing_invalidate(&mut self, d: &mut Driver, recreated: bool) {
        if let Some(link) = (self.op.as_ref())
            .and_then(|p| p.container.as_ref())
            .map(|c| c.link_arc().clone())
        {
            if recreated {
                d.containers.remove(&link);
            } else {
                d.containers.mark_ranges_stale(&link);
            }
        }
        self.routing.done = false;
        self.routing.range = None;
    }
}

/// Routing state of one execution.
#[derive(Debug, Default)]
pub(super) struct RoutingState {
    pub done: bool,
    /// Fetch the container's routing map even without a partition key (fan-out planning).
    pub want_map: bool,
    /// The range the operation goes to: its id and parents (shared with the routing map).
    pub range: Option<crate::partition::RangeRoute>,
    /// The metadata read being sent (boxed: rare, and the execution is moved on the hot path).
    pub meta: Option<Box<Prepared>>,
    pub attempts: Vec<AttemptId>,
    pub incremental: bool,
    pub continuation: Option<String>,
    pub pages: Vec<crate::partition::PartitionKeyRange>,
    pub page_count: usize,
    /// Failed routing reads so far (escalates their timeout).
    pub failures: usize,
    /// Where the last routing read went, the endpoints tried, and where the next one goes.
    pub current: Option<RegionRoute>,
    pub tried: Vec<Arc<str>>,
    pub next_route: Option<Route>,
}

impl RoutingState {
    /// The same region as the last routing read, or the first untried one after a failure.
    pub fn resolve_route(&mut self, d: &Driver, excluded: &[String], now: Instant) -> RegionRoute {
        let candidates = d.locations.candidates(false, excluded, now);
        let pick = match self.next_route.take() {
            Some(Route::NextRegion) => candidates
                .iter()
                .find(|r| !self.tried.contains(&r.endpoint))
                .or_else(|| candidates.first())
                .cloned(),
            _ => self
                .current
                .clone()
                .filter(|r| candidates.contains(r))
                .or_else(|| candidates.first().cloned()),
        }
        .unwrap_or_else(|| d.locations.global().clone());
        if !self.tried.contains(&pick.endpoint) && self.tried.len() < 64 {
            self.tried.push(pick.endpoint.clone());
        }
        self.current = Some(pick.clone());
        pick
    }
}
