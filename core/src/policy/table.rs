//! THE retry and failover table (PROTOCOL.md §4): `(signal, operation class) → reaction`.
//!
//! | signal                          | reads                         | writes                                   |
//! |---------------------------------|-------------------------------|------------------------------------------|
//! | 2xx, 304                        | success                       | success                                  |
//! | 429 (any sub-status)            | same region after retry-after | same region after retry-after            |
//! | 449 RetryWith                   | same region, exponential      | same region, exponential                 |
//! | 503                             | next region                   | next region only if retry-safe           |
//! | 500                             | next region                   | fail                                     |
//! | 408 / attempt timeout           | next region                   | next region only if retry-safe           |
//! | 403/3 WriteForbidden            | fail                          | mark, refresh account, next write region |
//! | 403/1008 AccountNotFound        | mark, refresh, next region    | mark, refresh, next region               |
//! | 404/1002 ReadSessionNotAvailable| write (hub) region            | write (hub) region                       |
//! | 410/1002, 1007, 1008            | refresh pk ranges, same region| refresh pk ranges, same region           |
//! | 410/1000, 400/1024              | refresh container, once       | refresh container, once                  |
//! | transport, request not sent     | next region, mark, refresh    | next region, mark, refresh account       |
//! | transport, sent or unknown      | next region                   | next region only if retry-safe           |
//! | anything else                   | fail                          | fail                                     |
//!
//! "Retry-safe" writes: idempotent by construction (`if-match` on upsert, replace or delete) or the
//! caller opted in. A write the service may have applied is never replayed otherwise (Java/.NET
//! rule; the official Rust driver retries such writes and can duplicate them).
//!
//! The rules that depend on the operation's situation rather than the signal alone live here
//! too, in [`decide_in`], so the execution only applies answers:
//!
//! | situation                                          | reaction                                  |
//! |----------------------------------------------------|-------------------------------------------|
//! | end-to-end deadline passed, the failure a timeout  | the deadline ended it: `DeadlineExceeded` |
//! | retriable, another attempt still in flight (hedge) | this attempt drops out: `DropOut`         |
//! | failover retry of an operation                     | at least once per candidate region        |
//! | 404/1002 from the second retry on                  | add the hub-region-only header            |
//!
//! And two classifications of the signal, each written once: whether it is an *availability*
//! failure of the partition in that region (408, 500, 503, timeouts, transport failures: fed to
//! the per-partition circuit breaker, retried or not), and whether the failed attempt *may have
//! been applied* (the same statuses, timeouts, and transport failures unless provably not sent:
//! a later 409/412 may then be the operation's own earlier success).

use crate::transport::{RequestSent, TransportErrorKind};

use super::budget::Budget;

/// What happened to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The service answered.
    Status {
        /// HTTP status.
        status: u16,
        /// `x-ms-substatus` (0 when absent).
        sub_status: u32,
    },
    /// The transport failed.
    Transport {
        /// Class of failure.
        kind: TransportErrorKind,
        /// Whether the request may have been applied.
        sent: RequestSent,
    },
    /// The core's per-attempt deadline passed with no answer (the request may have been applied).
    AttemptTimeout,
}

/// The properties of the operation that the table depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpClass {
    /// Reads, feeds and metadata reads.
    pub read_only: bool,
    /// For writes: may be replayed even if the first attempt was applied.
    pub retry_safe: bool,
}

/// Where the next attempt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// The region of the failed attempt (and of a first attempt: the first candidate).
    #[default]
    SameRegion,
    /// The next region in preference order.
    NextRegion,
    /// The first write region (the hub).
    WriteRegion,
}

/// How long to wait before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayRule {
    /// Immediately.
    None,
    /// `x-ms-retry-after-ms` (or a default) plus jitter.
    RetryAfter,
    /// 449: 10 ms × 2ⁿ + [0, 5) ms, capped at 1 s (.NET `GatewayRetryWithRetryPolicy`).
    RetryWithBackoff,
    /// Endpoint failover: the first retry at once, later ones after 1 s (.NET/Java
    /// `ClientRetryPolicy.RetryIntervalInMS`).
    FailoverInterval,
}

/// Side effects on driver state that accompany a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// Send `x-ms-cosmos-hub-region-processing-only` once this many retries were drawn from
    /// the row's budget (this one included). Precedent: .NET `ClientRetryPolicy` adds it on the
    /// second 404/1002.
    pub hub_region_only_from: Option<u32>,
    /// Mark the region unavailable for reads.
    pub mark_read_unavailable: bool,
    /// Mark the region unavailable for writes.
    pub mark_write_unavailable: bool,
    /// Re-read the account metadata before the next attempt.
    pub refresh_account: bool,
    /// Refresh the partition-key-range cache.
    pub refresh_pk_ranges: bool,
    /// Refresh the container cache (container was recreated).
    pub refresh_container: bool,
}

/// The least number of retries a row may take, whatever its configured budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Only the configured budget.
    None,
    /// At least one retry per other candidate region (.NET walks every endpoint on
    /// connectivity failures); the configured budget can only add to that.
    EveryRegionOnce,
}

/// The table's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Final: return the response to the caller.
    Success,
    /// Final: return the error to the caller.
    Fail,
    /// Try again, if the budget allows.
    Retry {
        /// The budget the retry draws on.
        budget: Budget,
        /// Wait before the next attempt.
        delay: DelayRule,
        /// Where the next attempt goes.
        route: Route,
        /// Driver-state effects.
        effects: Effects,
        /// The least number of retries allowed, whatever the configured budget.
        floor: Floor,
    },
    /// Final for this attempt only: another attempt of the operation is still in flight and
    /// may still win (a hedge, or the attempt it hedged).
    DropOut,
    /// Final: the operation's end-to-end deadline, not this failure, ended it.
    DeadlineExceeded,
}

/// What the execution knows when it asks, beyond the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    /// The class of the request that failed.
    pub class: OpClass,
    /// The request is the operation itself (not a metadata read or a check).
    pub operation: bool,
    /// Another attempt of the operation is still in flight.
    pub others_in_flight: bool,
    /// The operation's end-to-end deadline has passed.
    pub deadline_passed: bool,
}

/// [`decide_in`]'s full answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What to do next.
    pub reaction: Reaction,
    /// An availability failure of the partition in that region (circuit breaker input).
    pub availability_failure: bool,
    /// The failed attempt may have been applied by the service.
    pub may_have_applied: bool,
}

const NONE: Effects = Effects {
    mark_read_unavailable: false,
    mark_write_unavailable: false,
    refresh_account: false,
    refresh_pk_ranges: false,
    refresh_container: false,
    hub_region_only_from: None,
};

fn retry(budget: Budget, delay: DelayRule, route: Route, effects: Effects) -> Reaction {
    Reaction::Retry {
        budget,
        delay,
        route,
        effects,
        floor: Floor::None,
    }
}

/// Statuses that say the region could not serve the partition right now, and that the request
/// may nevertheless have been applied (PROTOCOL.md §4).
const AVAILABILITY_STATUSES: [u16; 3] = [408, 500, 503];

/// Substatuses of 410 that say the partition topology changed (a split, a merge, a partition
/// migration): the range is gone and its keys live in others (PROTOCOL.md §4; all SDKs).
const TOPOLOGY_SUB_STATUSES: [u32; 3] = [1002, 1007, 1008];

/// The request went to a partition key range that no longer holds its keys: re-read the
/// routing map and route again. The one definition behind every such decision: the
/// operation's own retry ([`decide`]) and a fan-out re-splitting its work after a child
/// failed (a query page, a ReadMany range, a change-feed range, a bulk batch or one of its
/// operations).
pub fn partition_gone(status: u16, sub_status: Option<u32>) -> bool {
    status == 410 && sub_status.is_some_and(|s| TOPOLOGY_SUB_STATUSES.contains(&s))
}

/// An availability failure of the partition in that region, whether or not it is retried.
pub fn availability_failure(signal: Signal) -> bool {
    match signal {
        Signal::Transport { .. } | Signal::AttemptTimeout => true,
        Signal::Status { status, .. } => AVAILABILITY_STATUSES.contains(&status),
    }
}

/// The failed attempt may have been applied by the service.
pub fn may_have_applied(signal: Signal) -> bool {
    match signal {
        Signal::Transport { sent, .. } => sent.may_have_been_applied(),
        Signal::AttemptTimeout => true,
        Signal::Status { status, .. } => AVAILABILITY_STATUSES.contains(&status),
    }
}

/// The whole policy, situation included. Pure: same inputs, same answer.
pub fn decide_in(signal: Signal, situation: Situation) -> Decision {
    let timed_out = matches!(
        signal,
        Signal::AttemptTimeout
            | Signal::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
    );
    let reaction = if situation.deadline_passed && timed_out {
        // A transport timeout set to the operation's deadline can arrive just before the
        // core's own timer: the caller's timeout ended this, not the region.
        Reaction::DeadlineExceeded
    } else {
        match decide(signal, situation.class) {
            Reaction::Retry { .. } if situation.operation && situation.others_in_flight => {
                Reaction::DropOut
            }
            Reaction::Retry {
                budget: Budget::Failover,
                delay,
                route,
                effects,
                ..
            } if situation.operation => Reaction::Retry {
                budget: Budget::Failover,
                delay,
                route,
                effects,
                floor: Floor::EveryRegionOnce,
            },
            other => other,
        }
    };
    Decision {
        reaction,
        availability_failure: availability_failure(signal),
        may_have_applied: may_have_applied(signal),
    }
}

/// The whole policy. Pure: same inputs, same answer.
pub fn decide(signal: Signal, class: OpClass) -> Reaction {
    let replayable = class.read_only || class.retry_safe;
    match signal {
        Signal::Status { status, sub_status } => match (status, sub_status) {
            (200..=299, _) | (304, _) => Reaction::Success,
            (429, _) => retry(
                Budget::Throttle,
                DelayRule::RetryAfter,
                Route::SameRegion,
                NONE,
            ),
            (449, _) => retry(
                Budget::RetryWith,
                DelayRule::RetryWithBackoff,
                Route::SameRegion,
                NONE,
            ),
            (503, _) if replayable => {
                retry(Budget::Failover, DelayRule::None, Route::NextRegion, NONE)
            }
            (500, _) if class.read_only => {
                retry(Budget::Failover, DelayRule::None, Route::NextRegion, NONE)
            }
            (408, _) if replayable => {
                retry(Budget::Failover, DelayRule::None, Route::NextRegion, NONE)
            }
            (403, 3) if !class.read_only => retry(
                Budget::WriteForbidden,
                DelayRule::FailoverInterval,
                Route::WriteRegion,
                Effects {
                    mark_write_unavailable: true,
                    refresh_account: true,
                    ..NONE
                },
            ),
            (403, 1008) => retry(
                Budget::AccountNotFound,
                DelayRule::FailoverInterval,
                Route::NextRegion,
                Effects {
                    mark_read_unavailable: true,
                    refresh_account: true,
                    ..NONE
                },
            ),
            (404, 1002) => retry(
                Budget::SessionNotAvailable,
                DelayRule::None,
                Route::WriteRegion,
                Effects {
                    hub_region_only_from: Some(2),
                    ..NONE
                },
            ),
            (410, sub) if partition_gone(410, Some(sub)) => retry(
                Budget::Topology,
                DelayRule::None,
                Route::SameRegion,
                Effects {
                    refresh_pk_ranges: true,
                    ..NONE
                },
            ),
            (410, 1000) | (400, 1024) => retry(
                Budget::ContainerRecreated,
                DelayRule::None,
                Route::SameRegion,
                Effects {
                    refresh_container: true,
                    ..NONE
                },
            ),
            _ => Reaction::Fail,
        },
        // A region that refuses connections may be one the account failed over from: re-read
        // the account (rate-limited by `min_forced_refresh_interval`) so writes follow the new
        // write region within seconds instead of at the next periodic refresh. Precedent: .NET
        // and Java `ClientRetryPolicy.ShouldRetryOnEndpointFailure` mark the endpoint and call
        // `RefreshLocationAsync`, which refreshes when a preferred endpoint is unavailable.
        Signal::Transport {
            sent: RequestSent::NotSent,
            ..
        } => retry(
            Budget::Failover,
            DelayRule::None,
            Route::NextRegion,
            Effects {
                mark_read_unavailable: true,
                mark_write_unavailable: true,
                refresh_account: true,
                ..NONE
            },
        ),
        Signal::Transport {
            kind: TransportErrorKind::ResponseTooLarge,
            ..
        } => Reaction::Fail,
        Signal::Transport { .. } | Signal::AttemptTimeout if replayable => {
            retry(Budget::Failover, DelayRule::None, Route::NextRegion, NONE)
        }
        Signal::Transport { .. } | Signal::AttemptTimeout => Reaction::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: OpClass = OpClass {
        read_only: true,
        retry_safe: true,
    };
    const WRITE: OpClass = OpClass {
        read_only: false,
        retry_safe: false,
    };
    const SAFE_WRITE: OpClass = OpClass {
        read_only: false,
        retry_safe: true,
    };

    fn st(status: u16, sub_status: u32) -> Signal {
        Signal::Status { status, sub_status }
    }

    fn budget(r: Reaction) -> Option<Budget> {
        match r {
            Reaction::Retry { budget, .. } => Some(budget),
            _ => None,
        }
    }

    #[test]
    fn success_and_plain_errors_are_final() {
        for s in [200, 201, 204, 304] {
            assert_eq!(decide(st(s, 0), WRITE), Reaction::Success);
        }
        for s in [400, 401, 404, 409, 412, 413] {
            assert_eq!(decide(st(s, 0), READ), Reaction::Fail, "{s}");
        }
    }

    #[test]
    fn throttling_retries_in_place_for_everything() {
        for c in [READ, WRITE] {
            assert!(matches!(
                decide(st(429, 3200), c),
                Reaction::Retry {
                    budget: Budget::Throttle,
                    route: Route::SameRegion,
                    delay: DelayRule::RetryAfter,
                    ..
                }
            ));
            assert_eq!(budget(decide(st(449, 0), c)), Some(Budget::RetryWith));
        }
    }

    #[test]
    fn writes_that_may_have_applied_are_not_replayed() {
        let sent = Signal::Transport {
            kind: TransportErrorKind::Io,
            sent: RequestSent::Unknown,
        };
        assert_eq!(decide(sent, WRITE), Reaction::Fail);
        assert_eq!(decide(Signal::AttemptTimeout, WRITE), Reaction::Fail);
        assert_eq!(decide(st(503, 0), WRITE), Reaction::Fail);
        assert_eq!(decide(st(408, 0), WRITE), Reaction::Fail);
        assert_eq!(decide(st(500, 0), WRITE), Reaction::Fail);
        assert_eq!(decide(st(500, 0), SAFE_WRITE), Reaction::Fail);
        assert_eq!(budget(decide(sent, SAFE_WRITE)), Some(Budget::Failover));
        assert_eq!(budget(decide(sent, READ)), Some(Budget::Failover));
        assert_eq!(
            budget(decide(st(503, 0), SAFE_WRITE)),
            Some(Budget::Failover)
        );
    }

    #[test]
    fn never_sent_is_safe_for_any_operation() {
        let ns = Signal::Transport {
            kind: TransportErrorKind::Connect,
            sent: RequestSent::NotSent,
        };
        assert_eq!(budget(decide(ns, WRITE)), Some(Budget::Failover));
    }

    #[test]
    fn topology_and_metadata_rows() {
        assert_eq!(
            budget(decide(st(403, 3), WRITE)),
            Some(Budget::WriteForbidden)
        );
        assert_eq!(decide(st(403, 3), READ), Reaction::Fail);
        assert_eq!(
            budget(decide(st(403, 1008), READ)),
            Some(Budget::AccountNotFound)
        );
        assert_eq!(
            budget(decide(st(404, 1002), READ)),
            Some(Budget::SessionNotAvailable)
        );
        for sub in [1002, 1007, 1008] {
            assert_eq!(budget(decide(st(410, sub), WRITE)), Some(Budget::Topology));
        }
        assert_eq!(
            budget(decide(st(410, 1000), READ)),
            Some(Budget::ContainerRecreated)
        );
        assert_eq!(
            budget(decide(st(400, 1024), READ)),
            Some(Budget::ContainerRecreated)
        );
        assert_eq!(decide(st(404, 0), READ), Reaction::Fail);
    }

    #[test]
    fn a_range_is_gone_exactly_when_the_table_reroutes_for_topology() {
        for status in [400, 404, 408, 409, 410, 429, 500, 503] {
            for sub in [0, 3, 1000, 1002, 1007, 1008, 1024] {
                let topology = budget(decide(st(status, sub), READ)) == Some(Budget::Topology);
                assert_eq!(
                    partition_gone(status, Some(sub)),
                    topology,
                    "{status}/{sub}"
                );
            }
            assert!(
                !partition_gone(status, None),
                "{status} without a substatus"
            );
        }
    }

    #[test]
    fn situation_rules() {
        let op = Situation {
            class: READ,
            operation: true,
            others_in_flight: false,
            deadline_passed: false,
        };
        let timeout = Signal::AttemptTimeout;
        assert!(matches!(
            decide_in(timeout, op).reaction,
            Reaction::Retry {
                floor: Floor::EveryRegionOnce,
                ..
            }
        ));
        let late = Situation {
            deadline_passed: true,
            ..op
        };
        assert_eq!(
            decide_in(timeout, late).reaction,
            Reaction::DeadlineExceeded
        );
        // A 503 after the deadline is still the region's failure.
        assert!(matches!(
            decide_in(st(503, 0), late).reaction,
            Reaction::Retry { .. }
        ));
        let hedged = Situation {
            others_in_flight: true,
            ..op
        };
        assert_eq!(decide_in(st(503, 0), hedged).reaction, Reaction::DropOut);
        assert_eq!(decide_in(st(404, 0), hedged).reaction, Reaction::Fail);
        let metadata = Situation {
            operation: false,
            others_in_flight: true,
            ..op
        };
        assert!(matches!(
            decide_in(timeout, metadata).reaction,
            Reaction::Retry {
                floor: Floor::None,
                ..
            }
        ));
    }

    #[test]
    fn classifications_are_written_once() {
        for s in [408, 500, 503] {
            assert!(availability_failure(st(s, 0)) && may_have_applied(st(s, 0)));
        }
        for s in [404, 409, 429, 449] {
            assert!(!availability_failure(st(s, 0)) && !may_have_applied(st(s, 0)));
        }
        let refused = Signal::Transport {
            kind: TransportErrorKind::Connect,
            sent: RequestSent::NotSent,
        };
        assert!(availability_failure(refused) && !may_have_applied(refused));
        assert!(may_have_applied(Signal::AttemptTimeout));
    }

    #[test]
    fn session_not_available_adds_the_hub_header_from_the_second_retry() {
        match decide(st(404, 1002), READ) {
            Reaction::Retry { effects, .. } => assert_eq!(effects.hub_region_only_from, Some(2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_responses_are_final() {
        let s = Signal::Transport {
            kind: TransportErrorKind::ResponseTooLarge,
            sent: RequestSent::Sent,
        };
        assert_eq!(decide(s, READ), Reaction::Fail);
    }
}
