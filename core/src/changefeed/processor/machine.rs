//! The processor's state machine: what one host does, one command at a time.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::balance::leases_to_take;
use super::lease::{millis, Lease};
use crate::changefeed::ChangeFeedStart;
use crate::now::Now;
use crate::partition::MAX_EXCLUSIVE_EPK;

/// How a processor host works. Defaults are Java's `ChangeFeedProcessorOptions` (PROTOCOL.md
/// §9.4).
#[derive(Debug, Clone)]
pub struct ProcessorOptions {
    /// This host's name (the leases' `Owner`); unique among the hosts of one processor.
    pub host: String,
    /// Prefix of the lease documents (one processor per prefix in a lease container).
    pub lease_prefix: String,
    /// How often an owned lease is renewed (default 17 s).
    pub renew_interval: Duration,
    /// How often leases are listed and balanced (default 13 s).
    pub acquire_interval: Duration,
    /// A lease not renewed for this long is free for any host (default 60 s).
    pub expiration: Duration,
    /// Wait after a range had nothing new (default 5 s).
    pub poll_delay: Duration,
    /// Changes per page of a lease's feed (`None`: the service's default).
    pub max_items: Option<u32>,
    /// Where a lease without a checkpoint starts.
    pub start: ChangeFeedStart,
}

impl ProcessorOptions {
    /// Options for host `host` and lease prefix `prefix`, with Java's timings, from the
    /// beginning of the feed.
    pub fn new(host: impl Into<String>, prefix: impl Into<String>) -> ProcessorOptions {
        ProcessorOptions {
            host: host.into(),
            lease_prefix: prefix.into(),
            renew_interval: Duration::from_secs(17),
            acquire_interval: Duration::from_secs(13),
            expiration: Duration::from_secs(60),
            poll_delay: Duration::from_secs(5),
            max_items: None,
            start: ChangeFeedStart::Beginning,
        }
    }
}

/// Identifies a command until its outcome comes back.
pub type CommandId = u64;

/// What the processor asks its transport to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read every lease document of the prefix (a query of the lease container).
    ListLeases,
    /// Read the monitored container's feed ranges (to create the first leases).
    ReadFeedRanges,
    /// Create this lease document (409 is a [`Outcome::Conflict`]).
    CreateLease(Lease),
    /// Replace this lease document if its etag is still `lease.etag` (412 or 404 is a
    /// [`Outcome::Conflict`]).
    ReplaceLease(Lease),
    /// Delete this lease document if its etag is still `lease.etag` (after a split created
    /// its children; 412 or 404 is a [`Outcome::Conflict`]).
    DeleteLease(Lease),
    /// Read one page of the lease's feed range from `continuation` (or from `start`).
    ReadChanges {
        /// The lease's document id.
        lease: String,
        /// Lower EPK bound of its feed range.
        min: String,
        /// Upper EPK bound.
        max: String,
        /// The checkpoint to read from.
        continuation: Option<String>,
        /// Where to start without a checkpoint.
        start: ChangeFeedStart,
        /// Changes per page.
        max_items: Option<u32>,
    },
    /// Hand these changes to the user's handler.
    Deliver {
        /// The lease's document id.
        lease: String,
        /// The changes, in feed order.
        items: Vec<Value>,
    },
}

/// What came of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The lease documents (for [`Command::ListLeases`]).
    Leases(Vec<Lease>),
    /// Feed ranges as EPK bounds (for [`Command::ReadFeedRanges`]).
    FeedRanges(Vec<(String, String)>),
    /// The lease as written, with its new etag.
    Written(Lease),
    /// Someone else wrote the lease first (409, 412, 404).
    Conflict,
    /// A page of changes and the token after it.
    Changes {
        /// The changes (empty when the range had nothing new).
        items: Vec<Value>,
        /// Where the page ended.
        continuation: String,
        /// When the lease's range now spans several physical ranges (it split): each part's
        /// bounds and token (`crate::changefeed::token_parts`); empty otherwise.
        parts: Vec<(String, String, String)>,
    },
    /// The lease document was deleted.
    Deleted,
    /// The handler finished without error.
    Delivered,
    /// Anything else: the command failed (the handler's error, a service error); it is tried
    /// again later.
    Failed(String),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Run this command and pass its outcome to [`Processor::complete`].
    Run(CommandId, Command),
    /// Nothing to do until this time (or until an outcome arrives).
    Wait(Option<Instant>),
    /// Stopped: every lease was released.
    Stopped,
}

#[derive(Debug)]
enum Next {
    Read,
    Deliver(Vec<Value>, String),
    Checkpoint(String),
    /// Create these child leases (then delete this one).
    Split(Vec<Lease>),
    /// Children created: delete this lease.
    Retire,
}

#[derive(Debug)]
struct Owned {
    lease: Lease,
    /// When the last successful write of the lease was issued: ownership lasts until
    /// `renewed_at + expiration` (what any other host sees from the timestamp it wrote).
    renewed_at: Instant,
    next_renew: Instant,
    next_read: Instant,
    next: Next,
    busy: bool,
    /// A lease write that failed (a checkpoint, a split's child, a retirement) goes again no
    /// sooner than this: one poll delay later, not at once, so an outage of the lease
    /// container is not met with a tight loop of requests.
    retry_at: Instant,
    /// The last read showed the range split into these parts (split after the checkpoint).
    parts: Vec<(String, String, String)>,
}

#[derive(Debug)]
enum Pending {
    List,
    Ranges,
    Create,
    Acquire,
    Renew(String),
    Read(String),
    Deliver(String, String),
    Checkpoint(String, String),
    Release(String),
    SplitCreate(String),
    Retire(String),
}

/// The child leases of a split lease: one per part, unowned, from the part's checkpoint.
fn children_of(prefix: &str, parts: &[(String, String, String)]) -> Vec<Lease> {
    parts
        .iter()
        .map(|(min, max, token)| {
            let mut l = Lease::new(prefix, min, max);
            l.continuation = Some(token.clone());
            l
        })
        .collect()
}

/// One processor host, sans IO (issue 13): lists and balances leases, renews what it owns,
/// reads each owned lease's feed, hands changes to the handler, and checkpoints only after the
/// handler succeeded (at-least-once). Drive it with [`Processor::poll`] and
/// [`Processor::complete`]; all time is injected.
#[derive(Debug)]
pub struct Processor {
    options: ProcessorOptions,
    owned: BTreeMap<String, Owned>,
    pending: BTreeMap<CommandId, (Pending, Instant, u64)>,
    next_id: CommandId,
    next_acquire: Instant,
    listing: bool,
    to_take: VecDeque<Lease>,
    to_create: VecDeque<Lease>,
    creating: usize,
    need_ranges: bool,
    /// The parts of the key space the last listing found no lease for: the feed ranges read
    /// next get leases only there (all of it when there were no leases).
    gaps: Vec<(String, String)>,
    stopping: bool,
    rng: u64,
}

impl Processor {
    /// A host starting at `now`; `seed` varies its choices between hosts (balancing picks).
    pub fn new(options: ProcessorOptions, seed: u64, now: Now) -> Processor {
        let mut rng = seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in options.host.bytes() {
            rng = (rng ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        Processor {
            options,
            owned: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_id: 1,
            next_acquire: now.mono,
            listing: false,
            to_take: VecDeque::new(),
            to_create: VecDeque::new(),
            creating: 0,
            need_ranges: false,
            gaps: Vec::new(),
            stopping: false,
            rng: rng | 1,
        }
    }

    /// The options.
    pub fn options(&self) -> &ProcessorOptions {
        &self.options
    }

    /// The leases this host holds at `now` (renewed within the expiration).
    pub fn owned_leases(&self, now: Instant) -> Vec<String> {
        self.owned
            .iter()
            .filter(|(_, o)| o.renewed_at + self.options.expiration > now)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The lease documents this host holds at `now`, as it last wrote them.
    pub fn held(&self, now: Instant) -> Vec<&Lease> {
        self.owned
            .values()
            .filter(|o| o.renewed_at + self.options.expiration > now)
            .map(|o| &o.lease)
            .collect()
    }

    /// Stops gracefully: no new reads; each lease is released once its handler call ended.
    pub fn stop(&mut self) {
        self.stopping = true;
        self.to_take.clear();
        self.to_create.clear();
    }

    fn issue(&mut self, what: Pending, command: Command, now: Now) -> Step {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, (what, now.mono, millis(now.wall)));
        Step::Run(id, command)
    }

    /// The next command, or how long to wait.
    pub fn poll(&mut self, now: Now) -> Step {
        let expiration = self.options.expiration;
        // A lease not renewed in time is lost here first: another host may take it now.
        self.owned
            .retain(|_, o| o.busy || o.renewed_at + expiration > now.mono);
        if self.stopping {
            let idle: Vec<String> = self
                .owned
                .iter()
                .filter(|(_, o)| !o.busy)
                .map(|(id, _)| id.clone())
                .collect();
            if let Some(id) = idle.into_iter().next() {
                let Some(o) = self.owned.get_mut(&id) else {
                    return Step::Wait(None);
                };
                o.busy = true;
                let mut l = o.lease.clone();
                l.owner = None;
                l.timestamp_ms = millis(now.wall);
                return self.issue(Pending::Release(id), Command::ReplaceLease(l), now);
            }
            if self.owned.is_empty() && self.pending.is_empty() {
                return Step::Stopped;
            }
            return Step::Wait(None);
        }
        // Listing and balancing.
        if !self.listing && self.need_ranges {
            self.need_ranges = false;
            self.listing = true;
            return self.issue(Pending::Ranges, Command::ReadFeedRanges, now);
        }
        if let Some(l) = self.to_create.pop_front() {
            self.creating += 1;
            return self.issue(Pending::Create, Command::CreateLease(l), now);
        }
        if !self.listing && self.creating == 0 && now.mono >= self.next_acquire {
            self.listing = true;
            return self.issue(Pending::List, Command::ListLeases, now);
        }
        if !self.listing {
            if let Some(mut l) = self.to_take.pop_front() {
                self.listing = true;
                l.owner = Some(self.options.host.clone());
                l.timestamp_ms = millis(now.wall);
                return self.issue(Pending::Acquire, Command::ReplaceLease(l), now);
            }
        }
        // Owned leases: renew, then read, deliver, checkpoint.
        let ids: Vec<String> = self.owned.keys().cloned().collect();
        for id in ids {
            let Some(o) = self.owned.get_mut(&id) else {
                continue;
            };
            if o.busy {
                continue;
            }
            // A failed lease write waits out its delay; the lease is still renewed meanwhile.
            let due = now.mono >= o.retry_at;
            match &o.next {
                Next::Deliver(..) => {
                    let Next::Deliver(items, cont) = std::mem::replace(&mut o.next, Next::Read)
                    else {
                        continue;
                    };
                    o.busy = true;
                    return self.issue(
                        Pending::Deliver(id.clone(), cont),
                        Command::Deliver { lease: id, items },
                        now,
                    );
                }
                Next::Checkpoint(cont) if due => {
                    let cont = cont.clone();
                    o.busy = true;
                    let mut l = o.lease.clone();
                    l.continuation = Some(cont.clone());
                    l.timestamp_ms = millis(now.wall);
                    return self.issue(
                        Pending::Checkpoint(id, cont),
                        Command::ReplaceLease(l),
                        now,
                    );
                }
                Next::Split(_) if due => {
                    let Next::Split(mut children) = std::mem::replace(&mut o.next, Next::Retire)
                    else {
                        continue;
                    };
                    let Some(child) = children.pop() else {
                        // Every child exists: retire this lease on the next turn.
                        return Step::Wait(Some(now.mono));
                    };
                    o.next = Next::Split(children);
                    o.busy = true;
                    return self.issue(Pending::SplitCreate(id), Command::CreateLease(child), now);
                }
                Next::Retire if due => {
                    o.busy = true;
                    let l = o.lease.clone();
                    return self.issue(Pending::Retire(id), Command::DeleteLease(l), now);
                }
                Next::Read | Next::Checkpoint(_) | Next::Split(_) | Next::Retire => {}
            }
            if now.mono >= o.next_renew {
                o.busy = true;
                let mut l = o.lease.clone();
                l.timestamp_ms = millis(now.wall);
                return self.issue(Pending::Renew(id), Command::ReplaceLease(l), now);
            }
            // Changes are read only when no write of this lease is waiting to go again.
            if now.mono >= o.next_read && matches!(o.next, Next::Read) {
                o.busy = true;
                let command = Command::ReadChanges {
                    lease: id.clone(),
                    min: o.lease.min.clone(),
                    max: o.lease.max.clone(),
                    continuation: o.lease.continuation.clone(),
                    start: self.options.start,
                    max_items: self.options.max_items,
                };
                return self.issue(Pending::Read(id), command, now);
            }
        }
        let mut wake = if self.listing || self.creating > 0 {
            None
        } else {
            Some(self.next_acquire)
        };
        for o in self.owned.values().filter(|o| !o.busy) {
            // A waiting write's due time, or the next read.
            let next = if matches!(o.next, Next::Read) {
                o.next_read
            } else {
                o.retry_at
            };
            for t in [o.next_renew, next, o.renewed_at + expiration] {
                wake = Some(wake.map_or(t, |w: Instant| w.min(t)));
            }
        }
        Step::Wait(wake)
    }

    /// The outcome of command `id`.
    pub fn complete(&mut self, id: CommandId, outcome: Outcome, now: Now) {
        let Some((what, issued, _)) = self.pending.remove(&id) else {
            return;
        };
        let o = &self.options;
        let (renew, poll, acquire) = (o.renew_interval, o.poll_delay, o.acquire_interval);
        match what {
            Pending::List => {
                self.listing = false;
                self.next_acquire = now.mono + acquire;
                if let Outcome::Leases(all) = outcome {
                    let prefix = format!("{}..", self.options.lease_prefix);
                    let leases: Vec<Lease> = all
                        .into_iter()
                        .filter(|l| l.id.starts_with(&prefix))
                        .collect();
                    // A range no lease covers is read by nobody: the first host found no
                    // leases at all, or a lease's creation failed (or its host stopped) before
                    // it was written. Leases are made for the gaps, from the feed ranges.
                    self.gaps = uncovered(&leases);
                    if leases.is_empty() {
                        self.need_ranges = true;
                        return;
                    }
                    if !self.gaps.is_empty() {
                        self.need_ranges = true;
                    }
                    let (host, expiry) = (self.options.host.clone(), self.options.expiration);
                    let mut rng = std::mem::take(&mut self.rng);
                    let take = leases_to_take(&leases, &host, millis(now.wall), expiry, |n| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        (rng % n.max(1) as u64) as usize
                    });
                    self.rng = rng | 1;
                    self.to_take = leases
                        .into_iter()
                        .filter(|l| take.contains(&l.id) && !self.owned.contains_key(&l.id))
                        .collect();
                }
            }
            Pending::Ranges => {
                self.listing = false;
                match outcome {
                    Outcome::FeedRanges(ranges) => {
                        let prefix = self.options.lease_prefix.as_str();
                        let gaps = std::mem::take(&mut self.gaps);
                        self.to_create = ranges
                            .iter()
                            .flat_map(|(min, max)| {
                                gaps.iter().filter_map(move |(lo, hi)| {
                                    let lo = lo.max(min);
                                    let hi = hi.min(max);
                                    (lo < hi).then(|| Lease::new(prefix, lo, hi))
                                })
                            })
                            .collect();
                        self.next_acquire = now.mono; // list again once they exist
                    }
                    _ => self.next_acquire = now.mono + acquire,
                }
            }
            Pending::Create => {
                self.creating = self.creating.saturating_sub(1);
            }
            Pending::SplitCreate(lease) => {
                if let Some(o) = self.owned.get_mut(&lease) {
                    o.busy = false;
                    // A child that exists already (409) is as good as one created now.
                    if matches!(outcome, Outcome::Failed(_)) {
                        o.next = Next::Split(children_of(&self.options.lease_prefix, &o.parts));
                        o.next_read = now.mono + poll;
                        o.retry_at = now.mono + poll;
                    }
                }
            }
            Pending::Retire(lease) => {
                match outcome {
                    Outcome::Failed(_) => {
                        if let Some(o) = self.owned.get_mut(&lease) {
                            o.busy = false;
                            o.next = Next::Retire;
                            o.retry_at = now.mono + poll;
                        }
                    }
                    // Deleted, or changed by another host: either way it is not ours now.
                    _ => {
                        self.owned.remove(&lease);
                        self.next_acquire = now.mono;
                    }
                }
            }
            Pending::Acquire => {
                self.listing = false;
                if let Outcome::Written(l) = outcome {
                    self.owned.insert(
                        l.id.clone(),
                        Owned {
                            lease: l,
                            renewed_at: issued,
                            next_renew: now.mono + renew,
                            next_read: now.mono,
                            next: Next::Read,
                            busy: false,
                            retry_at: now.mono,
                            parts: Vec::new(),
                        },
                    );
                }
            }
            Pending::Renew(lease) | Pending::Release(lease)
                if matches!(outcome, Outcome::Conflict) =>
            {
                self.owned.remove(&lease);
            }
            Pending::Release(lease) => {
                self.owned.remove(&lease);
            }
            Pending::Renew(lease) => {
                if let Some(o) = self.owned.get_mut(&lease) {
                    o.busy = false;
                    match outcome {
                        Outcome::Written(l) => {
                            o.lease = l;
                            o.renewed_at = issued;
                            o.next_renew = now.mono + renew;
                        }
                        _ => o.next_renew = now.mono + Duration::from_secs(1).min(renew),
                    }
                }
            }
            Pending::Read(lease) => {
                if let Some(o) = self.owned.get_mut(&lease) {
                    o.busy = false;
                    match outcome {
                        Outcome::Changes {
                            items,
                            continuation,
                            parts,
                        } => {
                            o.parts = if parts.len() > 1 { parts } else { Vec::new() };
                            if !items.is_empty() {
                                o.next = Next::Deliver(items, continuation);
                            } else if o.lease.continuation.as_deref() != Some(&continuation) {
                                // A first read from "now" fixed the position: keep it.
                                o.next = Next::Checkpoint(continuation);
                                o.next_read = now.mono + poll;
                            } else if !o.parts.is_empty() {
                                o.next =
                                    Next::Split(children_of(&self.options.lease_prefix, &o.parts));
                            } else {
                                o.next_read = now.mono + poll;
                            }
                        }
                        _ => o.next_read = now.mono + poll,
                    }
                }
            }
            Pending::Deliver(lease, cont) => {
                if let Some(o) = self.owned.get_mut(&lease) {
                    o.busy = false;
                    match outcome {
                        // Checkpoint only after the handler succeeded (at-least-once).
                        Outcome::Delivered => o.next = Next::Checkpoint(cont),
                        // The handler failed: read the same changes again later.
                        _ => o.next_read = now.mono + poll,
                    }
                }
            }
            Pending::Checkpoint(lease, cont) => match outcome {
                Outcome::Written(l) => {
                    if let Some(o) = self.owned.get_mut(&lease) {
                        o.busy = false;
                        o.lease = l;
                        o.renewed_at = issued;
                        o.next_renew = now.mono + renew;
                        o.next = if o.parts.is_empty() {
                            Next::Read
                        } else {
                            // The range split: hand the checkpoint to child leases, one per part.
                            Next::Split(children_of(&self.options.lease_prefix, &o.parts))
                        };
                        o.next_read = now.mono;
                    }
                }
                Outcome::Conflict => {
                    // Someone else holds it now: it reads on from the last checkpoint.
                    self.owned.remove(&lease);
                }
                _ => {
                    if let Some(o) = self.owned.get_mut(&lease) {
                        o.busy = false;
                        o.next = Next::Checkpoint(cont);
                        o.retry_at = now.mono + poll;
                    }
                }
            },
        }
    }
}

/// The parts of the key space `["", "FF")` that no lease covers, in order. Effective partition
/// keys compare as strings, as the service's range bounds do.
fn uncovered(leases: &[Lease]) -> Vec<(String, String)> {
    let mut bounds: Vec<(&str, &str)> = leases
        .iter()
        .map(|l| (l.min.as_str(), l.max.as_str()))
        .filter(|(min, max)| min < max)
        .collect();
    bounds.sort_unstable();
    let mut gaps = Vec::new();
    let mut covered = "";
    for (min, max) in bounds {
        if min > covered {
            gaps.push((covered.to_string(), min.to_string()));
        }
        covered = covered.max(max);
    }
    if covered < MAX_EXCLUSIVE_EPK {
        gaps.push((covered.to_string(), MAX_EXCLUSIVE_EPK.to_string()));
    }
    gaps
}
