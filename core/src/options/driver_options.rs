//! Driver-level options and their resolution into effective values.
//!
//! Configuration cascades environment → runtime → driver → operation; each level overrides only
//! the fields it sets ([`DriverOptions::layered_over`]). Every default below cites its precedent.

use std::time::Duration;

use crate::diagnostics::DiagnosticsOptions;
use crate::error::ConfigError;
use crate::metrics::MetricsOptions;
use crate::models::ConsistencyLevel;
use crate::options::HedgingOptions;
use crate::regions::CircuitBreakerOptions;

/// Per-attempt timeout for data-plane requests, covering the whole exchange (connect, send,
/// response head *and* body, so a server trickling bytes cannot extend it). Precedent: the
/// official Rust driver's `AZURE_COSMOS_CONNECTION_POOL_MAX_DATAPLANE_REQUEST_TIMEOUT_MS`
/// defaults to 6,000 ms, and .NET's newest `HttpTimeoutPolicyDefault` starts data-plane reads at
/// 3 s (docs/research/sdk-defaults.md, row 7). The 60–65 s of Java gateway mode and older .NET
/// let a stalled write hang for a minute (issue 10).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(6);
/// End-to-end bound of an operation across all its attempts, retries and waits when neither
/// the driver nor the operation sets one. No SDK sets one by default (.NET and Java make
/// `CosmosEndToEndOperationLatencyPolicyConfig` opt-in); 60 s is Java gateway mode's network
/// request timeout, the longest single wait their users already accept, and holds the default
/// budgets: 30 s of throttling waits plus three attempts of 6 s.
pub const DEFAULT_END_TO_END_TIMEOUT: Duration = Duration::from_secs(60);
/// Per-attempt timeout for metadata reads (account, container). Precedent: .NET
/// `HttpTimeoutPolicyControlPlaneRetriableHotPath` escalates 0.5 s / 5 s / 65 s; we use 10 s for
/// every attempt so a dead endpoint cannot stall a cold start for a minute.
pub const DEFAULT_METADATA_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries on 429. Precedent: Java/.NET `MaxRetryAttemptsOnRateLimitedRequests` = 9.
pub const DEFAULT_MAX_THROTTLE_RETRIES: u32 = 9;
/// Cumulative wait on 429. Precedent: Java/.NET `MaxRetryWaitTimeOnRateLimitedRequests` = 30 s.
pub const DEFAULT_MAX_THROTTLE_WAIT: Duration = Duration::from_secs(30);
/// Cumulative wait on 449 RetryWith. Precedent: .NET `GatewayRetryWithRetryPolicy` (30 s).
pub const DEFAULT_MAX_RETRY_WITH_WAIT: Duration = Duration::from_secs(30);
/// Retries on 503 / 500 (reads) / 408 / transport failures, each moving to the next region.
/// Precedent: `MaxServiceUnavailableRetryCount` = 1, which Java compares with `>` (2 retries)
/// and .NET with `>=` (1 retry); we follow Java.
pub const DEFAULT_MAX_FAILOVER_RETRIES: u32 = 2;
/// How long a region that failed stays at the end of the list. Precedent: .NET and Java
/// `LocationCache` unavailable-location expiration, 5 min (the Rust driver uses 60 s).
pub const DEFAULT_UNAVAILABLE_REGION_TTL: Duration = Duration::from_secs(300);
/// Account metadata refresh interval (stale-while-revalidate). Precedent: 5 min in .NET, Java and
/// the Rust driver.
pub const DEFAULT_ACCOUNT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Minimum time between forced account refreshes. Precedent: .NET
/// `MinTimeBetweenAccountRefresh` = 15 s (the Rust driver uses 5 s).
pub const DEFAULT_MIN_FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(15);
/// Largest response body accepted. Cosmos DB caps an item at 2 MB and a feed page at 4 MB;
/// 16 MiB leaves 4x headroom while bounding memory per attempt.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Driver options. Unset fields inherit from the level above, then from the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverOptions {
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) metadata_request_timeout: Option<Duration>,
    pub(crate) end_to_end_timeout: Option<Duration>,
    pub(crate) max_throttle_retries: Option<u32>,
    pub(crate) max_throttle_wait: Option<Duration>,
    pub(crate) max_retry_with_wait: Option<Duration>,
    pub(crate) max_failover_retries: Option<u32>,
    pub(crate) max_response_bytes: Option<usize>,
    pub(crate) consistency_level: Option<ConsistencyLevel>,
    pub(crate) content_response_on_write: Option<bool>,
    pub(crate) retry_non_idempotent_writes: Option<bool>,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) preferred_regions: Option<Vec<String>>,
    pub(crate) unavailable_region_ttl: Option<Duration>,
    pub(crate) account_refresh_interval: Option<Duration>,
    pub(crate) min_forced_refresh_interval: Option<Duration>,
    pub(crate) hedging: Option<HedgingOptions>,
    pub(crate) partition_routing: Option<bool>,
    pub(crate) circuit_breaker: Option<CircuitBreakerOptions>,
    pub(crate) metrics: Option<MetricsOptions>,
    pub(crate) diagnostics: Option<DiagnosticsOptions>,
}

macro_rules! layer {
    ($child:expr, $parent:expr, $($field:ident),*) => {
        DriverOptions { $($field: $child.$field.clone().or_else(|| $parent.$field.clone()),)* }
    };
}

impl DriverOptions {
    /// A builder with nothing set.
    pub fn builder() -> DriverOptionsBuilder {
        DriverOptionsBuilder::default()
    }

    /// These options with every unset field taken from `parent`.
    pub fn layered_over(&self, parent: &DriverOptions) -> DriverOptions {
        layer!(
            self,
            parent,
            request_timeout,
            metadata_request_timeout,
            end_to_end_timeout,
            max_throttle_retries,
            max_throttle_wait,
            max_retry_with_wait,
            max_failover_retries,
            max_response_bytes,
            consistency_level,
            content_response_on_write,
            retry_non_idempotent_writes,
            user_agent_suffix,
            preferred_regions,
            unavailable_region_ttl,
            account_refresh_interval,
            min_forced_refresh_interval,
            hedging,
            partition_routing,
            circuit_breaker,
            metrics,
            diagnostics
        )
    }

    pub(crate) fn resolve(&self) -> EffectiveOptions {
        EffectiveOptions {
            request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            metadata_request_timeout: self
                .metadata_request_timeout
                .unwrap_or(DEFAULT_METADATA_REQUEST_TIMEOUT),
            end_to_end_timeout: Some(
                self.end_to_end_timeout
                    .unwrap_or(DEFAULT_END_TO_END_TIMEOUT),
            ),
            max_throttle_retries: self
                .max_throttle_retries
                .unwrap_or(DEFAULT_MAX_THROTTLE_RETRIES),
            max_throttle_wait: self.max_throttle_wait.unwrap_or(DEFAULT_MAX_THROTTLE_WAIT),
            max_retry_with_wait: self
                .max_retry_with_wait
                .unwrap_or(DEFAULT_MAX_RETRY_WITH_WAIT),
            max_failover_retries: self
                .max_failover_retries
                .unwrap_or(DEFAULT_MAX_FAILOVER_RETRIES),
            max_response_bytes: self
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            consistency_level: self.consistency_level,
            // Precedent: .NET `EnableContentResponseOnWrite` defaults to true.
            content_response_on_write: self.content_response_on_write.unwrap_or(true),
            retry_non_idempotent_writes: self.retry_non_idempotent_writes.unwrap_or(false),
            user_agent_suffix: self.user_agent_suffix.clone(),
            preferred_regions: self.preferred_regions.clone().unwrap_or_default(),
            unavailable_region_ttl: self
                .unavailable_region_ttl
                .unwrap_or(DEFAULT_UNAVAILABLE_REGION_TTL),
            account_refresh_interval: self
                .account_refresh_interval
                .unwrap_or(DEFAULT_ACCOUNT_REFRESH_INTERVAL),
            min_forced_refresh_interval: self
                .min_forced_refresh_interval
                .unwrap_or(DEFAULT_MIN_FORCED_REFRESH_INTERVAL),
            hedging: self.hedging.clone().unwrap_or_default(),
            // Precedent: Java and .NET resolve pk ranges in gateway mode too (session tokens
            // per range, split handling).
            partition_routing: self.partition_routing.unwrap_or(true),
            circuit_breaker: self.circuit_breaker.clone().unwrap_or_default(),
            metrics: self.metrics.clone().unwrap_or_default(),
            diagnostics: self.diagnostics.clone().unwrap_or_default(),
        }
    }

    /// These options with the environment's settings under them (explicit settings win).
    pub fn with_environment(mut self, env: &crate::options::EnvironmentConfig) -> DriverOptions {
        if self.diagnostics.is_none() && env.diagnostics_max_summary_size_bytes.is_some() {
            self.diagnostics = Some(DiagnosticsOptions::from_environment(env));
        }
        self
    }

    /// The per-attempt response size cap these options resolve to.
    pub fn effective_max_response_bytes(&self) -> usize {
        self.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
    }
}

/// Builder for [`DriverOptions`].
#[derive(Debug, Clone, Default)]
pub struct DriverOptionsBuilder {
    o: DriverOptions,
}

fn range_err(name: &str, value: impl std::fmt::Debug, expected: &str) -> ConfigError {
    ConfigError::InvalidSetting {
        name: name.into(),
        value: format!("{value:?}"),
        expected: expected.into(),
    }
}

impl DriverOptionsBuilder {
    /// Per-attempt timeout for data-plane requests (default 65 s).
    pub fn request_timeout(mut self, v: Duration) -> Self {
        self.o.request_timeout = Some(v);
        self
    }
    /// Per-attempt timeout for metadata reads (default 10 s).
    pub fn metadata_request_timeout(mut self, v: Duration) -> Self {
        self.o.metadata_request_timeout = Some(v);
        self
    }
    /// Default end-to-end timeout for every operation (default none, as in Java and .NET).
    pub fn end_to_end_timeout(mut self, v: Duration) -> Self {
        self.o.end_to_end_timeout = Some(v);
        self
    }
    /// Retries on 429 (default 9).
    pub fn max_throttle_retries(mut self, v: u32) -> Self {
        self.o.max_throttle_retries = Some(v);
        self
    }
    /// Cumulative 429 wait (default 30 s).
    pub fn max_throttle_wait(mut self, v: Duration) -> Self {
        self.o.max_throttle_wait = Some(v);
        self
    }
    /// Cumulative 449 wait (default 30 s).
    pub fn max_retry_with_wait(mut self, v: Duration) -> Self {
        self.o.max_retry_with_wait = Some(v);
        self
    }
    /// Retries on 503, 408, 500 (reads) and transport failures (default 2).
    pub fn max_failover_retries(mut self, v: u32) -> Self {
        self.o.max_failover_retries = Some(v);
        self
    }
    /// Largest response body accepted (default 16 MiB).
    pub fn max_response_bytes(mut self, v: usize) -> Self {
        self.o.max_response_bytes = Some(v);
        self
    }
    /// Default consistency level for requests (may only weaken the account's).
    pub fn consistency_level(mut self, v: ConsistencyLevel) -> Self {
        self.o.consistency_level = Some(v);
        self
    }
    /// Whether writes return the item body (default true).
    pub fn content_response_on_write(mut self, v: bool) -> Self {
        self.o.content_response_on_write = Some(v);
        self
    }
    /// Opt in to retrying writes that may have been applied (default false).
    pub fn retry_non_idempotent_writes(mut self, v: bool) -> Self {
        self.o.retry_non_idempotent_writes = Some(v);
        self
    }
    /// Appended to the `User-Agent` header.
    pub fn user_agent_suffix(mut self, v: impl Into<String>) -> Self {
        self.o.user_agent_suffix = Some(v.into());
        self
    }

    /// Regions to prefer, most preferred first (names as the account lists them, e.g.
    /// `West US 2`). Regions not listed are still used, after these.
    pub fn preferred_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.o.preferred_regions = Some(regions.into_iter().map(Into::into).collect());
        self
    }
    /// How long a failed region stays at the end of the list (default 5 min).
    pub fn unavailable_region_ttl(mut self, v: Duration) -> Self {
        self.o.unavailable_region_ttl = Some(v);
        self
    }
    /// Account metadata refresh interval (default 5 min).
    pub fn account_refresh_interval(mut self, v: Duration) -> Self {
        self.o.account_refresh_interval = Some(v);
        self
    }
    /// Minimum time between forced account refreshes (default 15 s).
    pub fn min_forced_refresh_interval(mut self, v: Duration) -> Self {
        self.o.min_forced_refresh_interval = Some(v);
        self
    }

    /// Hedging settings (default: reads hedged after 500 ms, then every 100 ms).
    pub fn hedging(mut self, v: HedgingOptions) -> Self {
        self.o.hedging = Some(v);
        self
    }

    /// Resolve each item operation's partition key range (default true): sends the session
    /// token of that range only and follows splits. Costs two metadata reads per container on
    /// first use.
    pub fn partition_routing(mut self, v: bool) -> Self {
        self.o.partition_routing = Some(v);
        self
    }

    /// Per-partition circuit breaker settings (default on: 10 read / 5 write failures, 5 s hold).
    pub fn circuit_breaker(mut self, v: CircuitBreakerOptions) -> Self {
        self.o.circuit_breaker = Some(v);
        self
    }

    /// Metrics window and alert rules (defaults in [`crate::metrics::AlertOptions`]).
    pub fn metrics(mut self, v: MetricsOptions) -> Self {
        self.o.metrics = Some(v);
        self
    }

    /// Diagnostics output: summary size cap, verbosity, and the thresholds that decide which
    /// operations are logged (seed spec `DiagnosticsOptions`).
    pub fn diagnostics(mut self, v: DiagnosticsOptions) -> Self {
        self.o.diagnostics = Some(v);
        self
    }

    /// Checks every value is in range.
    pub fn build(self) -> Result<DriverOptions, ConfigError> {
        let o = self.o;
        for (name, v) in [
            ("request_timeout", o.request_timeout),
            ("metadata_request_timeout", o.metadata_request_timeout),
            ("end_to_end_timeout", o.end_to_end_timeout),
            ("unavailable_region_ttl", o.unavailable_region_ttl),
            ("account_refresh_interval", o.account_refresh_interval),
            ("min_forced_refresh_interval", o.min_forced_refresh_interval),
        ] {
            if let Some(v) = v {
                if v.is_zero() || v > Duration::from_secs(24 * 3600) {
                    return Err(range_err(name, v, "more than 0 and at most 24 hours"));
                }
            }
        }
        if let Some(v) = o.max_response_bytes {
            if v < 64 * 1024 {
                return Err(range_err(
                    "max_response_bytes",
                    v,
                    "at least 65536 (a Cosmos item can be 2 MB)",
                ));
            }
        }
        if let Some(v) = o.max_throttle_retries {
            if v > 1000 {
                return Err(range_err("max_throttle_retries", v, "at most 1000"));
            }
        }
        if let Some(v) = o.max_failover_retries {
            if v > 100 {
                return Err(range_err("max_failover_retries", v, "at most 100"));
            }
        }
        if let Some(h) = &o.hedging {
            h.validate()?;
        }
        if let Some(c) = &o.circuit_breaker {
            c.validate()?;
        }
        if let Some(p) = &o.preferred_regions {
            if p.len() > 64 || p.iter().any(|r| r.trim().is_empty()) {
                return Err(range_err(
                    "preferred_regions",
                    p,
                    "at most 64 non-empty region names",
                ));
            }
        }
        if let Some(s) = &o.user_agent_suffix {
            if http::HeaderValue::from_str(s).is_err() || s.len() > 256 {
                return Err(range_err(
                    "user_agent_suffix",
                    s,
                    "at most 256 visible ASCII characters",
                ));
            }
        }
        Ok(o)
    }
}

/// Options with every default applied.
#[derive(Debug, Clone)]
pub(crate) struct EffectiveOptions {
    pub request_timeout: Duration,
    pub metadata_request_timeout: Duration,
    pub end_to_end_timeout: Option<Duration>,
    pub max_throttle_retries: u32,
    pub max_throttle_wait: Duration,
    pub max_retry_with_wait: Duration,
    pub max_failover_retries: u32,
    pub max_response_bytes: usize,
    pub consistency_level: Option<ConsistencyLevel>,
    pub content_response_on_write: bool,
    pub retry_non_idempotent_writes: bool,
    pub user_agent_suffix: Option<String>,
    pub preferred_regions: Vec<String>,
    pub unavailable_region_ttl: Duration,
    pub account_refresh_interval: Duration,
    pub min_forced_refresh_interval: Duration,
    pub hedging: HedgingOptions,
    pub partition_routing: bool,
    pub circuit_breaker: CircuitBreakerOptions,
    pub metrics: MetricsOptions,
    pub diagnostics: DiagnosticsOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_overrides_only_what_it_sets() {
        let parent = DriverOptions::builder()
            .max_throttle_retries(3)
            .request_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let child = DriverOptions::builder()
            .max_throttle_retries(7)
            .build()
            .unwrap();
        let eff = child.layered_over(&parent).resolve();
        assert_eq!(eff.max_throttle_retries, 7);
        assert_eq!(eff.request_timeout, Duration::from_secs(5));
        assert_eq!(eff.max_throttle_wait, DEFAULT_MAX_THROTTLE_WAIT);
    }

    #[test]
    fn out_of_range_values_name_the_setting() {
        let e = DriverOptions::builder()
            .request_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("request_timeout"), "{e}");
        let e = DriverOptions::builder()
            .max_response_bytes(10)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("max_response_bytes"), "{e}");
    }
}
