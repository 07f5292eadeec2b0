//! Driver-level options and their resolution into effective values.
//!
//! Configuration cascades environment → runtime → driver → operation; each level overrides only
//! the fields it sets ([`DriverOptions::layered_over`]). Every default below cites its precedent.

use std::time::Duration;

use crate::diagnostics::{DiagnosticsOptions, DiagnosticsThresholds, DiagnosticsVerbosity};
use crate::error::ConfigError;
use crate::metrics::MetricsOptions;
use crate::models::ConsistencyLevel;
use crate::options::{
    ConnectionPoolOptions, HedgingOptions, RetryOptions, TelemetryOptions, TimeoutOptions,
};
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
/// Wait before retrying a 429 whose response carries no (or a zero) `x-ms-retry-after-ms`.
/// Precedent: .NET `ResourceThrottleRetryPolicy.DefaultRetryInSeconds` and Java
/// `DEFAULT_RETRY_IN_SECONDS`, both 5 s. Defined here, where the options are, so that the
/// options do not depend on the execution ([`crate::execution::DEFAULT_THROTTLE_DELAY`] is
/// this value).
pub const DEFAULT_THROTTLE_FALLBACK_DELAY: Duration = Duration::from_secs(5);
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
    pub(crate) throttle_fallback_delay: Option<Duration>,
    pub(crate) retry_on_throttle: Option<bool>,
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
    pub(crate) metrics_enabled: Option<bool>,
    pub(crate) diagnostics_verbosity: Option<DiagnosticsVerbosity>,
    pub(crate) diagnostics_max_summary_size_bytes: Option<usize>,
    pub(crate) diagnostics_thresholds: Option<DiagnosticsThresholds>,
    pub(crate) connection_pool: Option<ConnectionPoolOptions>,
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
            throttle_fallback_delay,
            retry_on_throttle,
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
            metrics_enabled,
            diagnostics_verbosity,
            diagnostics_max_summary_size_bytes,
            diagnostics_thresholds,
            connection_pool
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
            // `retry_on_throttle(false)` wins over any retry count: no 429 is retried.
            max_throttle_retries: if self.retry_on_throttle == Some(false) {
                0
            } else {
                self.max_throttle_retries
                    .unwrap_or(DEFAULT_MAX_THROTTLE_RETRIES)
            },
            max_throttle_wait: self.max_throttle_wait.unwrap_or(DEFAULT_MAX_THROTTLE_WAIT),
            throttle_fallback_delay: self
                .throttle_fallback_delay
                .unwrap_or(DEFAULT_THROTTLE_FALLBACK_DELAY),
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
            metrics_enabled: self.metrics_enabled.unwrap_or(true),
            diagnostics: self.diagnostics_options(),
        }
    }

    /// The diagnostics options these settings compose (defaults for the unset parts).
    fn diagnostics_options(&self) -> DiagnosticsOptions {
        DiagnosticsOptions::from_parts(
            self.diagnostics_max_summary_size_bytes,
            self.diagnostics_verbosity,
            self.diagnostics_thresholds.clone(),
        )
    }

    /// These options with the environment's settings under them: the environment is the lowest
    /// layer, so every setting made here (or at a level above) wins over it, field by field.
    /// Option groups given whole ([`DriverOptionsBuilder::hedging`],
    /// [`DriverOptionsBuilder::circuit_breaker`], [`DriverOptionsBuilder::metrics`],
    /// [`DriverOptionsBuilder::connection_pool_options`], the thresholds of
    /// [`DriverOptionsBuilder::diagnostics`]) replace the environment's group whole.
    pub fn with_environment(self, env: &crate::options::EnvironmentConfig) -> DriverOptions {
        self.layered_over(&env.driver_options)
    }

    /// The per-attempt response size cap these options resolve to.
    pub fn effective_max_response_bytes(&self) -> usize {
        self.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
    }

    /// The per-attempt timeout of data-plane requests these options resolve to
    /// ([`DEFAULT_REQUEST_TIMEOUT`] when unset). A transport may configure its HTTP client for
    /// it, so that the usual attempt needs no per-request settings.
    pub fn effective_request_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
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
    /// Per-attempt timeout for data-plane requests (default 6 s, [`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn request_timeout(mut self, v: Duration) -> Self {
        self.o.request_timeout = Some(v);
        self
    }
    /// Per-attempt timeout for metadata reads (default 10 s).
    pub fn metadata_request_timeout(mut self, v: Duration) -> Self {
        self.o.metadata_request_timeout = Some(v);
        self
    }
    /// Default end-to-end timeout for every operation, across its attempts, retries and waits
    /// (default 60 s, [`DEFAULT_END_TO_END_TIMEOUT`]); an operation's own
    /// `OperationOptions::end_to_end_timeout` overrides it.
    pub fn end_to_end_timeout(mut self, v: Duration) -> Self {
        self.o.end_to_end_timeout = Some(v);
        self
    }
    /// Retries on 429 (default 9).
    pub fn max_throttle_retries(mut self, v: u32) -> Self {
        self.o.max_throttle_retries = Some(v);
        self
    }
    /// Cumulative 429 wait (default 30 s): a retry whose wait would take the total past it is
    /// not made, so no single wait exceeds it either.
    pub fn max_throttle_wait(mut self, v: Duration) -> Self {
        self.o.max_throttle_wait = Some(v);
        self
    }
    /// Wait before retrying a 429 that carries no (or a zero) `x-ms-retry-after-ms` (default
    /// 5 s, [`DEFAULT_THROTTLE_FALLBACK_DELAY`]). A 429 that says how long to wait is retried
    /// after that wait (plus a few ms of jitter), whatever this is.
    pub fn throttle_fallback_delay(mut self, v: Duration) -> Self {
        self.o.throttle_fallback_delay = Some(v);
        self
    }
    /// Retry 429 responses at all (default true). `false` means no 429 is retried, whatever
    /// [`DriverOptionsBuilder::max_throttle_retries`] says at any level.
    pub fn retry_on_throttle(mut self, v: bool) -> Self {
        self.o.retry_on_throttle = Some(v);
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

    /// Record per-driver metrics (default true). `false` records nothing: the snapshot stays
    /// empty and no alert is raised.
    pub fn metrics_enabled(mut self, v: bool) -> Self {
        self.o.metrics_enabled = Some(v);
        self
    }

    /// Diagnostics output: summary size cap, verbosity, and the thresholds that decide which
    /// operations are logged (seed spec `DiagnosticsOptions`). Sets all three (a complete
    /// `DiagnosticsOptions`); [`DriverOptionsBuilder::telemetry_options`] sets only the parts
    /// it names.
    pub fn diagnostics(mut self, v: DiagnosticsOptions) -> Self {
        self.o.diagnostics_max_summary_size_bytes = Some(v.max_summary_size_bytes());
        self.o.diagnostics_verbosity = Some(v.default_verbosity());
        self.o.diagnostics_thresholds = Some(v.thresholds().clone());
        self
    }

    /// The seed's retry options: sets the settings `v` names, each onto its Sextant setting
    /// (see [`RetryOptions`] for the mapping): `max_retries` →
    /// [`max_throttle_retries`](Self::max_throttle_retries), `initial_delay` →
    /// [`throttle_fallback_delay`](Self::throttle_fallback_delay), `max_delay` →
    /// [`max_throttle_wait`](Self::max_throttle_wait), `retry_on_throttle` →
    /// [`retry_on_throttle`](Self::retry_on_throttle). Unset ones stay inherited.
    pub fn retry_options(mut self, v: RetryOptions) -> Self {
        let RetryOptions {
            max_retries,
            initial_delay,
            max_delay,
            retry_on_throttle,
        } = v;
        self.o.max_throttle_retries = max_retries.or(self.o.max_throttle_retries);
        self.o.throttle_fallback_delay = initial_delay.or(self.o.throttle_fallback_delay);
        self.o.max_throttle_wait = max_delay.or(self.o.max_throttle_wait);
        self.o.retry_on_throttle = retry_on_throttle.or(self.o.retry_on_throttle);
        self
    }

    /// The seed's timeout options: `request_timeout` →
    /// [`request_timeout`](Self::request_timeout), `operation_timeout` →
    /// [`end_to_end_timeout`](Self::end_to_end_timeout). Unset ones stay inherited.
    pub fn timeout_options(mut self, v: TimeoutOptions) -> Self {
        let TimeoutOptions {
            request_timeout,
            operation_timeout,
        } = v;
        self.o.request_timeout = request_timeout.or(self.o.request_timeout);
        self.o.end_to_end_timeout = operation_timeout.or(self.o.end_to_end_timeout);
        self
    }

    /// The seed's telemetry options: diagnostics verbosity, summary cap and logging thresholds
    /// (the parts of [`diagnostics`](Self::diagnostics)), metrics on/off
    /// ([`metrics_enabled`](Self::metrics_enabled)) and the metrics window and alerts
    /// ([`metrics`](Self::metrics)). Unset ones stay inherited.
    pub fn telemetry_options(mut self, v: TelemetryOptions) -> Self {
        let TelemetryOptions {
            diagnostics_verbosity,
            max_summary_size_bytes,
            diagnostics_thresholds,
            metrics_enabled,
            metrics,
        } = v;
        self.o.diagnostics_verbosity = diagnostics_verbosity.or(self.o.diagnostics_verbosity);
        self.o.diagnostics_max_summary_size_bytes =
            max_summary_size_bytes.or(self.o.diagnostics_max_summary_size_bytes);
        self.o.diagnostics_thresholds =
            diagnostics_thresholds.or(self.o.diagnostics_thresholds.take());
        self.o.metrics_enabled = metrics_enabled.or(self.o.metrics_enabled);
        self.o.metrics = metrics.or(self.o.metrics.take());
        self
    }

    /// The seed's connection pool options (idle connections per host, idle timeout, connect
    /// timeout). A connection pool belongs to the runtime and is shared by all its drivers, so
    /// this takes effect only in the `DriverOptions` given to a runtime builder's
    /// `driver_options(..)` (the runtime builder's own `connection_pool_options(..)` is the
    /// same setting). Options given to `get_or_create_driver` that carry a different pool are
    /// refused with a [`ConfigError`] rather than silently ignored.
    pub fn connection_pool_options(mut self, v: ConnectionPoolOptions) -> Self {
        self.o.connection_pool = Some(v);
        self
    }

    /// Checks every value is in range; an error names the setting and its accepted range.
    pub fn build(self) -> Result<DriverOptions, ConfigError> {
        let o = self.o;
        validate(&o)?;
        Ok(o)
    }
}

/// Longest duration any setting accepts.
pub(crate) const MAX_SETTING_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Checks a non-zero duration setting: more than 0 and at most 24 hours.
pub(crate) fn check_positive_duration(name: &str, v: Option<Duration>) -> Result<(), ConfigError> {
    match v {
        Some(v) if v.is_zero() || v > MAX_SETTING_DURATION => {
            Err(range_err(name, v, "more than 0 and at most 24 hours"))
        }
        _ => Ok(()),
    }
}

/// The checks [`DriverOptionsBuilder::build`] makes (also run on the environment's layer).
pub(crate) fn validate(o: &DriverOptions) -> Result<(), ConfigError> {
    for (name, v) in [
        ("request_timeout", o.request_timeout),
        ("metadata_request_timeout", o.metadata_request_timeout),
        ("end_to_end_timeout", o.end_to_end_timeout),
        ("throttle_fallback_delay", o.throttle_fallback_delay),
        ("unavailable_region_ttl", o.unavailable_region_ttl),
        ("account_refresh_interval", o.account_refresh_interval),
        ("min_forced_refresh_interval", o.min_forced_refresh_interval),
    ] {
        check_positive_duration(name, v)?;
    }
    for (name, v) in [
        ("max_throttle_wait", o.max_throttle_wait),
        ("max_retry_with_wait", o.max_retry_with_wait),
    ] {
        if let Some(v) = v {
            if v > MAX_SETTING_DURATION {
                return Err(range_err(name, v, "at most 24 hours"));
            }
        }
    }
    if let Some(n) = o.diagnostics_max_summary_size_bytes {
        if n < crate::diagnostics::MIN_MAX_SUMMARY_SIZE_BYTES {
            return Err(range_err(
                "max_summary_size_bytes",
                n,
                "at least 4096 bytes",
            ));
        }
    }
    if let Some(t) = &o.diagnostics_thresholds {
        t.validate()?;
    }
    if let Some(p) = &o.connection_pool {
        p.validate()?;
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
    Ok(())
}

/// Options with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EffectiveOptions {
    pub request_timeout: Duration,
    pub metadata_request_timeout: Duration,
    pub end_to_end_timeout: Option<Duration>,
    pub max_throttle_retries: u32,
    pub max_throttle_wait: Duration,
    pub throttle_fallback_delay: Duration,
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
    pub metrics_enabled: bool,
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
        assert_eq!(child.effective_request_timeout(), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(
            child.layered_over(&parent).effective_request_timeout(),
            Duration::from_secs(5)
        );
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

    #[test]
    fn new_settings_are_range_checked_by_name() {
        let e = DriverOptions::builder()
            .throttle_fallback_delay(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("throttle_fallback_delay"), "{e}");
        let e = DriverOptions::builder()
            .max_throttle_wait(Duration::from_secs(25 * 3600))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("max_throttle_wait"), "{e}");
        let pool = ConnectionPoolOptions {
            connect_timeout: Duration::ZERO,
            ..ConnectionPoolOptions::default()
        };
        let e = DriverOptions::builder()
            .connection_pool_options(pool)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("connect_timeout"), "{e}");
    }

    fn eff(o: DriverOptionsBuilder) -> EffectiveOptions {
        o.build().unwrap().resolve()
    }

    #[test]
    fn seed_form_resolves_like_the_sextant_form() {
        let retry = RetryOptions::builder()
            .max_retries(5)
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(20))
            .retry_on_throttle(true)
            .build()
            .unwrap();
        let timeouts = TimeoutOptions::builder()
            .request_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(45))
            .build()
            .unwrap();
        let thresholds = DiagnosticsThresholds::default()
            .with_point_operation_latency(Duration::from_millis(300))
            .with_failures(false);
        let metrics = MetricsOptions {
            window: Duration::from_secs(10),
            ..MetricsOptions::default()
        };
        let telemetry = TelemetryOptions::builder()
            .diagnostics_verbosity(DiagnosticsVerbosity::Detailed)
            .max_summary_size_bytes(16 * 1024)
            .diagnostics_thresholds(thresholds.clone())
            .metrics_enabled(false)
            .metrics(metrics.clone())
            .build()
            .unwrap();
        let seed = eff(DriverOptions::builder()
            .retry_options(retry)
            .timeout_options(timeouts)
            .telemetry_options(telemetry));
        let diagnostics = DiagnosticsOptions::builder()
            .default_verbosity(DiagnosticsVerbosity::Detailed)
            .max_summary_size_bytes(16 * 1024)
            .thresholds(thresholds)
            .build()
            .unwrap();
        let sextant = eff(DriverOptions::builder()
            .max_throttle_retries(5)
            .throttle_fallback_delay(Duration::from_millis(100))
            .max_throttle_wait(Duration::from_secs(20))
            .retry_on_throttle(true)
            .request_timeout(Duration::from_secs(3))
            .end_to_end_timeout(Duration::from_secs(45))
            .diagnostics(diagnostics)
            .metrics_enabled(false)
            .metrics(metrics));
        assert_eq!(seed, sextant);
        assert_eq!(seed.max_throttle_retries, 5);
        assert_eq!(seed.throttle_fallback_delay, Duration::from_millis(100));
        assert_eq!(seed.max_throttle_wait, Duration::from_secs(20));
        assert_eq!(seed.request_timeout, Duration::from_secs(3));
        assert_eq!(seed.end_to_end_timeout, Some(Duration::from_secs(45)));
        assert!(!seed.metrics_enabled);
    }

    #[test]
    fn empty_seed_groups_change_nothing() {
        let plain = eff(DriverOptions::builder());
        let groups = eff(DriverOptions::builder()
            .retry_options(RetryOptions::default())
            .timeout_options(TimeoutOptions::default())
            .telemetry_options(TelemetryOptions::default()));
        assert_eq!(plain, groups);
        // The getters of an empty group report the defaults in force.
        assert_eq!(
            RetryOptions::default().max_retries(),
            plain.max_throttle_retries
        );
        assert_eq!(
            RetryOptions::default().initial_delay(),
            plain.throttle_fallback_delay
        );
        assert_eq!(RetryOptions::default().max_delay(), plain.max_throttle_wait);
        assert_eq!(
            TimeoutOptions::default().request_timeout(),
            plain.request_timeout
        );
        assert_eq!(
            Some(TimeoutOptions::default().operation_timeout()),
            plain.end_to_end_timeout
        );
        assert_eq!(
            TelemetryOptions::default().max_summary_size_bytes(),
            plain.diagnostics.max_summary_size_bytes()
        );
    }

    #[test]
    fn a_driver_level_group_overrides_only_what_it_sets() {
        // The seed's Example 2: the runtime sets the delays, a driver only max_retries.
        let runtime = DriverOptions::builder()
            .retry_options(
                RetryOptions::builder()
                    .max_retries(5)
                    .initial_delay(Duration::from_millis(100))
                    .max_delay(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let driver = DriverOptions::builder()
            .retry_options(RetryOptions::builder().max_retries(10).build().unwrap())
            .build()
            .unwrap();
        let e = driver.layered_over(&runtime).resolve();
        assert_eq!(e.max_throttle_retries, 10);
        assert_eq!(e.throttle_fallback_delay, Duration::from_millis(100));
        assert_eq!(e.max_throttle_wait, Duration::from_secs(30));
    }

    #[test]
    fn retry_on_throttle_false_means_no_429_retry_at_any_level() {
        let e = eff(DriverOptions::builder()
            .max_throttle_retries(7)
            .retry_options(
                RetryOptions::builder()
                    .retry_on_throttle(false)
                    .build()
                    .unwrap(),
            ));
        assert_eq!(e.max_throttle_retries, 0);
        // Off at the runtime, a driver that only raises the count still retries no 429.
        let runtime = DriverOptions::builder()
            .retry_on_throttle(false)
            .build()
            .unwrap();
        let driver = DriverOptions::builder()
            .max_throttle_retries(10)
            .build()
            .unwrap();
        let e = driver.layered_over(&runtime).resolve();
        assert_eq!(e.max_throttle_retries, 0);
        assert_eq!(
            crate::policy::BudgetLimits::from_options(&e).max_retries[0],
            0
        );
        // A driver may switch it back on explicitly.
        let driver = DriverOptions::builder()
            .retry_on_throttle(true)
            .build()
            .unwrap();
        let e = driver.layered_over(&runtime).resolve();
        assert_eq!(e.max_throttle_retries, DEFAULT_MAX_THROTTLE_RETRIES);
    }

    #[test]
    fn the_environment_is_the_lowest_layer() {
        use crate::options::environment::{
            ENV_DIAGNOSTICS_DEFAULT_VERBOSITY, ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES,
            ENV_HEDGING_THRESHOLD_MS, ENV_MAX_THROTTLE_RETRY_COUNT, ENV_REQUEST_TIMEOUT_MS,
        };
        let vars = [
            (ENV_REQUEST_TIMEOUT_MS, "2000"),
            (ENV_MAX_THROTTLE_RETRY_COUNT, "4"),
            (ENV_HEDGING_THRESHOLD_MS, "250"),
            (ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES, "16384"),
            (ENV_DIAGNOSTICS_DEFAULT_VERBOSITY, "detailed"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let env = crate::options::EnvironmentConfig::from_map(&vars).unwrap();
        // Nothing explicit: the environment decides.
        let e = DriverOptions::default().with_environment(&env).resolve();
        assert_eq!(e.request_timeout, Duration::from_secs(2));
        assert_eq!(e.max_throttle_retries, 4);
        assert_eq!(e.hedging.threshold, Duration::from_millis(250));
        assert_eq!(e.diagnostics.max_summary_size_bytes(), 16384);
        // An explicit option beats the variable; the others still come from the environment.
        let explicit = DriverOptions::builder()
            .request_timeout(Duration::from_secs(9))
            .retry_options(RetryOptions::builder().max_retries(1).build().unwrap())
            .telemetry_options(
                TelemetryOptions::builder()
                    .diagnostics_verbosity(DiagnosticsVerbosity::Summary)
                    .build()
                    .unwrap(),
            )
            .hedging(HedgingOptions::default())
            .build()
            .unwrap();
        let e = explicit.with_environment(&env).resolve();
        assert_eq!(e.request_timeout, Duration::from_secs(9));
        assert_eq!(e.max_throttle_retries, 1);
        assert_eq!(
            e.hedging.threshold,
            crate::options::hedging::DEFAULT_HEDGE_THRESHOLD
        );
        assert_eq!(
            e.diagnostics.default_verbosity(),
            DiagnosticsVerbosity::Summary
        );
        assert_eq!(e.diagnostics.max_summary_size_bytes(), 16384);
        // A driver's options layered over the runtime's (which carry the environment) win too.
        let runtime = DriverOptions::default().with_environment(&env);
        let driver = DriverOptions::builder()
            .timeout_options(
                TimeoutOptions::builder()
                    .request_timeout(Duration::from_secs(1))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let e = driver.layered_over(&runtime).resolve();
        assert_eq!(e.request_timeout, Duration::from_secs(1));
        assert_eq!(e.max_throttle_retries, 4);
    }
}
