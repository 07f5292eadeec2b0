//! Retry budgets: how many retries (and how much waiting) each row of the table may use.

use std::time::Duration;

use crate::options::driver_options::EffectiveOptions;

/// The budget a retry draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// 429: count and cumulative wait.
    Throttle,
    /// 449: cumulative wait.
    RetryWith,
    /// 503, 500 (reads), 408, timeouts and transport failures.
    Failover,
    /// 403/3.
    WriteForbidden,
    /// 403/1008.
    AccountNotFound,
    /// 404/1002.
    SessionNotAvailable,
    /// 410/1002, 1007, 1008.
    Topology,
    /// 410/1000, 400/1024.
    ContainerRecreated,
}

const ALL: [Budget; 8] = [
    Budget::Throttle,
    Budget::RetryWith,
    Budget::Failover,
    Budget::WriteForbidden,
    Budget::AccountNotFound,
    Budget::SessionNotAvailable,
    Budget::Topology,
    Budget::ContainerRecreated,
];

impl Budget {
    fn index(self) -> usize {
        ALL.iter().position(|b| *b == self).unwrap_or(0)
    }

    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Throttle => "throttle",
            Budget::RetryWith => "retry_with",
            Budget::Failover => "failover",
            Budget::WriteForbidden => "write_forbidden",
            Budget::AccountNotFound => "account_not_found",
            Budget::SessionNotAvailable => "session_not_available",
            Budget::Topology => "topology",
            Budget::ContainerRecreated => "container_recreated",
        }
    }
}

/// Limits per budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetLimits {
    /// Maximum retries per budget (indexed like [`Budget`]).
    pub max_retries: [u32; 8],
    /// Cumulative wait allowed on 429.
    pub max_throttle_wait: Duration,
    /// Cumulative wait allowed on 449.
    pub max_retry_with_wait: Duration,
}

/// 403/3 retries. Precedent: .NET and Java `ClientRetryPolicy.MaxRetryCount` = 120, at
/// `RetryIntervalInMS` = 1000 (see [`crate::policy::DelayRule::FailoverInterval`]).
pub const DEFAULT_WRITE_FORBIDDEN_RETRIES: u32 = 120;
/// 403/1008 retries (same `ClientRetryPolicy` endpoint-failover budget as 403/3).
pub const DEFAULT_ACCOUNT_NOT_FOUND_RETRIES: u32 = 120;
/// 404/1002 retries: the write region, the second one with the hub-only header. Precedent: .NET
/// `ClientRetryPolicy` adds `x-ms-cosmos-hub-region-processing-only` on the second 404/1002.
pub const DEFAULT_SESSION_NOT_AVAILABLE_RETRIES: u32 = 2;
/// 410/1002, 1007, 1008 retries after a pk-range refresh. Precedent: .NET
/// `PartitionKeyRangeGoneRetryPolicy` retries once.
pub const DEFAULT_TOPOLOGY_RETRIES: u32 = 1;
/// Container-recreated (410/1000, 400/1024) retries. Precedent: .NET
/// `InvalidPartitionExceptionRetryPolicy` and Java `shouldRetryOnStaleContainer`: once.
pub const DEFAULT_CONTAINER_RECREATED_RETRIES: u32 = 1;
/// 449 retry count cap, on top of the wait cap (1 s max step ⇒ ~30 retries fill 30 s).
pub const DEFAULT_RETRY_WITH_RETRIES: u32 = 64;

impl BudgetLimits {
    pub(crate) fn from_options(o: &EffectiveOptions) -> Self {
        let mut max_retries = [0u32; 8];
        max_retries[Budget::Throttle.index()] = o.max_throttle_retries;
        max_retries[Budget::RetryWith.index()] = DEFAULT_RETRY_WITH_RETRIES;
        max_retries[Budget::Failover.index()] = o.max_failover_retries;
        max_retries[Budget::WriteForbidden.index()] = DEFAULT_WRITE_FORBIDDEN_RETRIES;
        max_retries[Budget::AccountNotFound.index()] = DEFAULT_ACCOUNT_NOT_FOUND_RETRIES;
        max_retries[Budget::SessionNotAvailable.index()] = DEFAULT_SESSION_NOT_AVAILABLE_RETRIES;
        max_retries[Budget::Topology.index()] = DEFAULT_TOPOLOGY_RETRIES;
        max_retries[Budget::ContainerRecreated.index()] = DEFAULT_CONTAINER_RECREATED_RETRIES;
        BudgetLimits {
            max_retries,
            max_throttle_wait: o.max_throttle_wait,
            max_retry_with_wait: o.max_retry_with_wait,
        }
    }

    /// Upper bound on the retries one execution can make for one purpose, given how many
    /// regions the account has (the failover budget covers every region at least once).
    pub fn max_total_retries(&self, regions: usize) -> u64 {
        let floor = u64::try_from(regions.saturating_sub(1)).unwrap_or(u64::MAX);
        self.max_retries
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                if ALL[i] == Budget::Failover {
                    u64::from(n).max(floor)
                } else {
                    u64::from(n)
                }
            })
            .sum::<u64>()
    }
}

/// Spent budget of one execution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Budgets {
    used: [u32; 8],
    throttle_wait: Duration,
    retry_with_wait: Duration,
}

impl Budgets {
    /// Retries already taken from `b`.
    pub fn used(&self, b: Budget) -> u32 {
        self.used[b.index()]
    }

    /// Tries to take one retry that waits `delay`; false when the budget is exhausted.
    pub fn try_take(&mut self, b: Budget, delay: Duration, limits: &BudgetLimits) -> bool {
        self.try_take_at_least(b, delay, limits, 0)
    }

    /// As [`Budgets::try_take`], with at least `floor` retries allowed whatever the limit (the
    /// failover budget always lets an operation visit every region once).
    pub fn try_take_at_least(
        &mut self,
        b: Budget,
        delay: Duration,
        limits: &BudgetLimits,
        floor: u32,
    ) -> bool {
        let i = b.index();
        if self.used[i] >= limits.max_retries[i].max(floor) {
            return false;
        }
        match b {
            Budget::Throttle => {
                if self.throttle_wait.saturating_add(delay) > limits.max_throttle_wait {
                    return false;
                }
                self.throttle_wait = self.throttle_wait.saturating_add(delay);
            }
            Budget::RetryWith => {
                if self.retry_with_wait.saturating_add(delay) > limits.max_retry_with_wait {
                    return false;
                }
                self.retry_with_wait = self.retry_with_wait.saturating_add(delay);
            }
            _ => {}
        }
        self.used[i] = self.used[i].saturating_add(1);
        true
    }
}
