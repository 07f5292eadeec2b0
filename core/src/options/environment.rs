//! `AZURE_COSMOS_*` environment variables, parsed from a map the transport passes in (the core
//! itself never reads the environment).
//!
//! Every setting of [`DriverOptions`], [`ConnectionPoolOptions`] and
//! [`RuntimeOptions`](crate::RuntimeOptions) can be set by one variable ([`VARIABLES`] lists
//! them with their accepted forms; `docs/CONFIGURATION.md` has the full table). Names:
//!
//! * **Official** ([`VariableOrigin::Official`]): the name the official Rust driver
//!   (`Azure/azure-sdk-for-rust`, `sdk/cosmos/azure_data_cosmos_driver`) reads for the same
//!   setting, in the file named.
//! * **Official, documented only** ([`VariableOrigin::OfficialDocs`]): named in the official
//!   SDK's configuration specification but not read by its code yet.
//! * **Sextant's own** ([`VariableOrigin::Sextant`]): no official SDK reads the setting from
//!   an `AZURE_COSMOS_*` variable, so it is `AZURE_COSMOS_` + the Sextant setting name in upper
//!   case (`_MS` for a duration in milliseconds, as the official driver's duration variables;
//!   a group's prefix, e.g. `HEDGING_`, for a field of an option group).
//!
//! Values: durations are integer milliseconds; booleans `true`/`false` (also `1`/`0`,
//! `yes`/`no`, `on`/`off`, `enabled`/`disabled`, any case); lists are comma-separated; an empty
//! value is the same as an unset variable. A malformed or out-of-range value is a
//! [`ConfigError`] naming the variable and the accepted form (the value redacted); unknown
//! `AZURE_COSMOS_*` variables are ignored (the official SDKs' test and tooling variables share
//! the prefix).
//!
//! The environment is the lowest layer: environment < runtime options < driver options <
//! operation options. An option group set whole (`hedging`, `circuit_breaker`, `metrics`,
//! diagnostics thresholds, the connection pool) replaces the environment's group whole.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::diagnostics::{DiagnosticsThresholds, DiagnosticsVerbosity};
use crate::error::ConfigError;
use crate::models::ConsistencyLevel;
use crate::options::runtime::ConnectionPoolOptions;
use crate::options::DriverOptions;

/// Accepts the local emulator's self-signed certificate when `true`. Same name as the official
/// SDKs use for the emulator.
pub const ENV_EMULATOR_CERT_VALIDATION_DISABLED: &str =
    "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED";
/// Summary diagnostics size cap in bytes (seed spec: default 8 KiB, minimum 4 KiB).
pub const ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES: &str =
    "AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES";
/// Default diagnostics verbosity (`summary` or `detailed`).
pub const ENV_DIAGNOSTICS_DEFAULT_VERBOSITY: &str = "AZURE_COSMOS_DIAGNOSTICS_DEFAULT_VERBOSITY";
/// Point-operation latency threshold for diagnostics logging, ms.
pub const ENV_DIAGNOSTICS_THRESHOLD_POINT_OPERATION_LATENCY_MS: &str =
    "AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_POINT_OPERATION_LATENCY_MS";
/// Non-point-operation latency threshold for diagnostics logging, ms.
pub const ENV_DIAGNOSTICS_THRESHOLD_NON_POINT_OPERATION_LATENCY_MS: &str =
    "AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_NON_POINT_OPERATION_LATENCY_MS";
/// Request-charge threshold for diagnostics logging, RU.
pub const ENV_DIAGNOSTICS_THRESHOLD_REQUEST_CHARGE: &str =
    "AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_REQUEST_CHARGE";
/// Payload-size threshold for diagnostics logging, bytes (or `off`).
pub const ENV_DIAGNOSTICS_THRESHOLD_PAYLOAD_SIZE_BYTES: &str =
    "AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_PAYLOAD_SIZE_BYTES";
/// Log failed operations' diagnostics whatever their latency.
pub const ENV_DIAGNOSTICS_THRESHOLD_FAILURES: &str = "AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_FAILURES";

/// Per-attempt data-plane request timeout, ms (official driver's name).
pub const ENV_REQUEST_TIMEOUT_MS: &str =
    "AZURE_COSMOS_CONNECTION_POOL_MAX_DATAPLANE_REQUEST_TIMEOUT_MS";
/// Per-attempt metadata request timeout, ms (official driver's name).
pub const ENV_METADATA_REQUEST_TIMEOUT_MS: &str =
    "AZURE_COSMOS_CONNECTION_POOL_MAX_METADATA_REQUEST_TIMEOUT_MS";
/// End-to-end operation timeout, ms.
pub const ENV_END_TO_END_TIMEOUT_MS: &str = "AZURE_COSMOS_END_TO_END_TIMEOUT_MS";
/// Retries on 429 (official driver's name).
pub const ENV_MAX_THROTTLE_RETRY_COUNT: &str = "AZURE_COSMOS_MAX_THROTTLE_RETRY_COUNT";
/// Cumulative 429 wait, ms.
pub const ENV_MAX_THROTTLE_WAIT_MS: &str = "AZURE_COSMOS_MAX_THROTTLE_WAIT_MS";
/// Wait before retrying a 429 without a retry-after, ms.
pub const ENV_THROTTLE_FALLBACK_DELAY_MS: &str = "AZURE_COSMOS_THROTTLE_FALLBACK_DELAY_MS";
/// Retry 429 responses at all.
pub const ENV_RETRY_ON_THROTTLE: &str = "AZURE_COSMOS_RETRY_ON_THROTTLE";
/// Cumulative 449 wait, ms.
pub const ENV_MAX_RETRY_WITH_WAIT_MS: &str = "AZURE_COSMOS_MAX_RETRY_WITH_WAIT_MS";
/// Failover retries (official driver's name).
pub const ENV_MAX_FAILOVER_RETRY_COUNT: &str = "AZURE_COSMOS_MAX_FAILOVER_RETRY_COUNT";
/// Largest response body accepted, bytes.
pub const ENV_MAX_RESPONSE_BYTES: &str = "AZURE_COSMOS_MAX_RESPONSE_BYTES";
/// Default consistency level (official SDK configuration specification's name).
pub const ENV_CONSISTENCY_LEVEL: &str = "AZURE_COSMOS_CONSISTENCY_LEVEL";
/// Whether writes return the item (official driver's name).
pub const ENV_CONTENT_RESPONSE_ON_WRITE: &str = "AZURE_COSMOS_CONTENT_RESPONSE_ON_WRITE";
/// Opt in to retrying writes that may have been applied.
pub const ENV_RETRY_NON_IDEMPOTENT_WRITES: &str = "AZURE_COSMOS_RETRY_NON_IDEMPOTENT_WRITES";
/// Appended to the `User-Agent` header (official SDK configuration specification's name).
pub const ENV_USER_AGENT_SUFFIX: &str = "AZURE_COSMOS_USER_AGENT_SUFFIX";
/// Preferred regions, comma-separated.
pub const ENV_PREFERRED_REGIONS: &str = "AZURE_COSMOS_PREFERRED_REGIONS";
/// How long a failed region stays at the end of the list, ms (official driver's name).
pub const ENV_ENDPOINT_UNAVAILABLE_TTL_MS: &str = "AZURE_COSMOS_ENDPOINT_UNAVAILABLE_TTL_MS";
/// Account metadata refresh interval, ms.
pub const ENV_ACCOUNT_REFRESH_INTERVAL_MS: &str = "AZURE_COSMOS_ACCOUNT_REFRESH_INTERVAL_MS";
/// Minimum time between forced account refreshes, ms.
pub const ENV_MIN_FORCED_REFRESH_INTERVAL_MS: &str = "AZURE_COSMOS_MIN_FORCED_REFRESH_INTERVAL_MS";
/// Hedge reads (official driver's name).
pub const ENV_HEDGING_ENABLED: &str = "AZURE_COSMOS_HEDGING_ENABLED";
/// Time before the first hedge, ms (official driver's specification's name).
pub const ENV_HEDGING_THRESHOLD_MS: &str = "AZURE_COSMOS_HEDGING_THRESHOLD_MS";
/// Time between further hedges, ms.
pub const ENV_HEDGING_STEP_MS: &str = "AZURE_COSMOS_HEDGING_STEP_MS";
/// Also hedge writes on multi-write accounts.
pub const ENV_HEDGING_WRITES_ON_MULTI_WRITE: &str = "AZURE_COSMOS_HEDGING_WRITES_ON_MULTI_WRITE";
/// Hedges per operation.
pub const ENV_HEDGING_MAX_HEDGES_PER_OPERATION: &str =
    "AZURE_COSMOS_HEDGING_MAX_HEDGES_PER_OPERATION";
/// Hedged attempts in flight per driver.
pub const ENV_HEDGING_MAX_CONCURRENT_HEDGES: &str = "AZURE_COSMOS_HEDGING_MAX_CONCURRENT_HEDGES";
/// Resolve each item operation's partition key range.
pub const ENV_PARTITION_ROUTING: &str = "AZURE_COSMOS_PARTITION_ROUTING";
/// Per-partition circuit breaker on/off (official driver's name).
pub const ENV_PPCB_ENABLED: &str = "AZURE_COSMOS_PPCB_ENABLED";
/// Read failures that open the breaker (official driver's name).
pub const ENV_PPCB_READ_FAILURE_THRESHOLD: &str = "AZURE_COSMOS_PPCB_READ_FAILURE_THRESHOLD";
/// Write failures that open the breaker (official driver's name).
pub const ENV_PPCB_WRITE_FAILURE_THRESHOLD: &str = "AZURE_COSMOS_PPCB_WRITE_FAILURE_THRESHOLD";
/// Failures older than this are forgotten, ms (official driver's name).
pub const ENV_PPCB_COUNTER_RESET_WINDOW_MS: &str = "AZURE_COSMOS_PPCB_COUNTER_RESET_WINDOW_MS";
/// How long an open breaker holds the partition away, ms (official driver's name).
pub const ENV_PPCB_PARTITION_UNAVAILABILITY_DURATION_MS: &str =
    "AZURE_COSMOS_PPCB_PARTITION_UNAVAILABILITY_DURATION_MS";
/// Record metrics.
pub const ENV_METRICS_ENABLED: &str = "AZURE_COSMOS_METRICS_ENABLED";
/// Metrics sliding window, ms.
pub const ENV_METRICS_WINDOW_MS: &str = "AZURE_COSMOS_METRICS_WINDOW_MS";
/// Slots of the metrics window.
pub const ENV_METRICS_WINDOW_SLOTS: &str = "AZURE_COSMOS_METRICS_WINDOW_SLOTS";
/// Alert: RU per second (or `off`).
pub const ENV_METRICS_ALERT_REQUEST_UNITS_PER_SECOND: &str =
    "AZURE_COSMOS_METRICS_ALERT_REQUEST_UNITS_PER_SECOND";
/// Alert: p99 latency of point operations, ms (or `off`).
pub const ENV_METRICS_ALERT_POINT_LATENCY_P99_MS: &str =
    "AZURE_COSMOS_METRICS_ALERT_POINT_LATENCY_P99_MS";
/// Alert: p99 latency of other operations, ms (or `off`).
pub const ENV_METRICS_ALERT_NON_POINT_LATENCY_P99_MS: &str =
    "AZURE_COSMOS_METRICS_ALERT_NON_POINT_LATENCY_P99_MS";
/// Alert: error rate, 0–1 (or `off`).
pub const ENV_METRICS_ALERT_ERROR_RATE: &str = "AZURE_COSMOS_METRICS_ALERT_ERROR_RATE";
/// Alert: throttle rate, 0–1 (or `off`).
pub const ENV_METRICS_ALERT_THROTTLE_RATE: &str = "AZURE_COSMOS_METRICS_ALERT_THROTTLE_RATE";
/// Alert: hot partition share, 0–1 (or `off`).
pub const ENV_METRICS_ALERT_HOT_PARTITION_SHARE: &str =
    "AZURE_COSMOS_METRICS_ALERT_HOT_PARTITION_SHARE";
/// Alert: RU a container needs in the window before the hot-partition rule applies.
pub const ENV_METRICS_ALERT_HOT_PARTITION_MIN_REQUEST_CHARGE: &str =
    "AZURE_COSMOS_METRICS_ALERT_HOT_PARTITION_MIN_REQUEST_CHARGE";
/// Alert: ranges a container needs before the hot-partition rule applies.
pub const ENV_METRICS_ALERT_HOT_PARTITION_MIN_RANGES: &str =
    "AZURE_COSMOS_METRICS_ALERT_HOT_PARTITION_MIN_RANGES";
/// Alert: operations the rate and latency rules need in the window.
pub const ENV_METRICS_ALERT_MIN_OPERATIONS: &str = "AZURE_COSMOS_METRICS_ALERT_MIN_OPERATIONS";
/// Idle pooled connections per host (official driver's name).
pub const ENV_MAX_IDLE_CONNECTIONS_PER_HOST: &str =
    "AZURE_COSMOS_CONNECTION_POOL_MAX_IDLE_CONNECTIONS_PER_ENDPOINT";
/// Idle connection timeout, ms (official driver's name).
pub const ENV_IDLE_TIMEOUT_MS: &str = "AZURE_COSMOS_CONNECTION_POOL_IDLE_CONNECTION_TIMEOUT_MS";
/// Connect timeout, ms (official driver's name).
pub const ENV_CONNECT_TIMEOUT_MS: &str = "AZURE_COSMOS_CONNECTION_POOL_MAX_CONNECT_TIMEOUT_MS";
/// Fixed RNG seed for every driver.
pub const ENV_SEED: &str = "AZURE_COSMOS_SEED";

/// Minimum summary diagnostics size (seed spec).
pub const MIN_SUMMARY_SIZE_BYTES: usize = 4 * 1024;

/// Where a variable's name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VariableOrigin {
    /// Read by the official Rust driver for the same setting; the file (in
    /// `Azure/azure-sdk-for-rust`) where it is read.
    Official(&'static str),
    /// Named in the official SDK's configuration specification, not read by its code yet; the
    /// document (in `Azure/azure-sdk-for-rust`).
    OfficialDocs(&'static str),
    /// Sextant's own: no official SDK reads this setting from an `AZURE_COSMOS_*` variable.
    Sextant,
}

/// One environment variable Sextant reads.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// The variable's name.
    pub name: &'static str,
    /// The setting it sets (the Sextant builder method).
    pub setting: &'static str,
    /// The values it accepts.
    pub accepted: &'static str,
    /// Where the name comes from.
    pub origin: VariableOrigin,
    apply: fn(&mut EnvironmentConfig, &str) -> Option<()>,
}

const POOL_RS: &str = "sdk/cosmos/azure_data_cosmos_driver/src/options/connection_pool.rs";
const OPERATION_RS: &str = "sdk/cosmos/azure_data_cosmos_driver/src/options/operation_options.rs";
const DIAGNOSTICS_RS: &str =
    "sdk/cosmos/azure_data_cosmos_driver/src/options/diagnostics_options.rs";
const PPCB_RS: &str = "sdk/cosmos/azure_data_cosmos_driver/src/options/partition_failover.rs";
const DRIVER_RS: &str = "sdk/cosmos/azure_data_cosmos_driver/src/driver/cosmos_driver.rs";
const SDK_CONFIG_MD: &str = "sdk/cosmos/azure_data_cosmos/docs/ConfigurationOptions.md";
const SDK_HIERARCHY_MD: &str = "sdk/cosmos/azure_data_cosmos/docs/HierarchicalConfigModel.md";
const PIPELINE_SPEC_MD: &str =
    "sdk/cosmos/azure_data_cosmos_driver/docs/TRANSPORT_PIPELINE_SPEC.md";

const BOOL: &str = "true or false (also 1/0, yes/no, on/off, enabled/disabled)";
const DAY_MS: u64 = 24 * 3600 * 1000;

use VariableOrigin::{Official, OfficialDocs, Sextant};

macro_rules! var {
    ($name:expr, $setting:expr, $accepted:expr, $origin:expr, $apply:expr) => {
        Variable {
            name: $name,
            setting: $setting,
            accepted: $accepted,
            origin: $origin,
            apply: $apply,
        }
    };
}

/// Every variable Sextant reads, in the order they are parsed.
pub const VARIABLES: &[Variable] = &[
    // Runtime and connection pool.
    var!(
        ENV_EMULATOR_CERT_VALIDATION_DISABLED,
        "CosmosDriverRuntimeBuilder::emulator_server_cert_validation_disabled",
        BOOL,
        Official(POOL_RS),
        |c, v| {
            c.emulator_cert_validation_disabled = bool_(v)?;
            Some(())
        }
    ),
    var!(
        ENV_MAX_IDLE_CONNECTIONS_PER_HOST,
        "ConnectionPoolOptions::max_idle_connections_per_host",
        "an integer from 0 to 10000",
        Official(POOL_RS),
        |c, v| {
            c.max_idle_connections_per_host = Some(usize_(v, 0, 10_000)?);
            Some(())
        }
    ),
    var!(
        ENV_IDLE_TIMEOUT_MS,
        "ConnectionPoolOptions::idle_timeout",
        "milliseconds, from 0 to 86400000 (24 h)",
        Official(POOL_RS),
        |c, v| {
            c.idle_timeout = Some(ms(v, 0, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_CONNECT_TIMEOUT_MS,
        "ConnectionPoolOptions::connect_timeout",
        "milliseconds, from 1 to 300000 (300 s)",
        Official(POOL_RS),
        |c, v| {
            c.connect_timeout = Some(ms(v, 1, 300_000)?);
            Some(())
        }
    ),
    var!(
        ENV_SEED,
        "CosmosDriverRuntimeBuilder::seed",
        "an unsigned 64-bit integer",
        Sextant,
        |c, v| {
            c.seed = Some(v.parse().ok()?);
            Some(())
        }
    ),
    // Timeouts.
    var!(
        ENV_REQUEST_TIMEOUT_MS,
        "DriverOptionsBuilder::request_timeout (TimeoutOptions::request_timeout)",
        "milliseconds, from 1 to 86400000 (24 h)",
        Official(POOL_RS),
        |c, v| {
            c.driver_options.request_timeout = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_METADATA_REQUEST_TIMEOUT_MS,
        "DriverOptionsBuilder::metadata_request_timeout",
        "milliseconds, from 1 to 86400000 (24 h)",
        Official(POOL_RS),
        |c, v| {
            c.driver_options.metadata_request_timeout = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_END_TO_END_TIMEOUT_MS,
        "DriverOptionsBuilder::end_to_end_timeout (TimeoutOptions::operation_timeout)",
        "milliseconds, from 1 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.end_to_end_timeout = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    // Retries.
    var!(
        ENV_MAX_THROTTLE_RETRY_COUNT,
        "DriverOptionsBuilder::max_throttle_retries (RetryOptions::max_retries)",
        "an integer from 0 to 1000",
        Official(OPERATION_RS),
        |c, v| {
            c.driver_options.max_throttle_retries = Some(u32_(v, 0, 1000)?);
            Some(())
        }
    ),
    var!(
        ENV_MAX_THROTTLE_WAIT_MS,
        "DriverOptionsBuilder::max_throttle_wait (RetryOptions::max_delay)",
        "milliseconds, from 0 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.max_throttle_wait = Some(ms(v, 0, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_THROTTLE_FALLBACK_DELAY_MS,
        "DriverOptionsBuilder::throttle_fallback_delay (RetryOptions::initial_delay)",
        "milliseconds, from 1 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.throttle_fallback_delay = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_RETRY_ON_THROTTLE,
        "DriverOptionsBuilder::retry_on_throttle (RetryOptions::retry_on_throttle)",
        BOOL,
        Sextant,
        |c, v| {
            c.driver_options.retry_on_throttle = Some(bool_(v)?);
            Some(())
        }
    ),
    var!(
        ENV_MAX_RETRY_WITH_WAIT_MS,
        "DriverOptionsBuilder::max_retry_with_wait",
        "milliseconds, from 0 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.max_retry_with_wait = Some(ms(v, 0, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_MAX_FAILOVER_RETRY_COUNT,
        "DriverOptionsBuilder::max_failover_retries",
        "an integer from 0 to 100",
        Official(OPERATION_RS),
        |c, v| {
            c.driver_options.max_failover_retries = Some(u32_(v, 0, 100)?);
            Some(())
        }
    ),
    var!(
        ENV_RETRY_NON_IDEMPOTENT_WRITES,
        "DriverOptionsBuilder::retry_non_idempotent_writes",
        BOOL,
        Sextant,
        |c, v| {
            c.driver_options.retry_non_idempotent_writes = Some(bool_(v)?);
            Some(())
        }
    ),
    // Requests.
    var!(
        ENV_MAX_RESPONSE_BYTES,
        "DriverOptionsBuilder::max_response_bytes",
        "an integer number of bytes, at least 65536",
        Sextant,
        |c, v| {
            c.driver_options.max_response_bytes = Some(usize_(v, 64 * 1024, usize::MAX)?);
            Some(())
        }
    ),
    var!(
        ENV_CONSISTENCY_LEVEL,
        "DriverOptionsBuilder::consistency_level",
        "Strong, BoundedStaleness, Session, ConsistentPrefix or Eventual (any case)",
        OfficialDocs(SDK_HIERARCHY_MD),
        |c, v| {
            c.driver_options.consistency_level = Some(v.parse::<ConsistencyLevel>().ok()?);
            Some(())
        }
    ),
    var!(
        ENV_CONTENT_RESPONSE_ON_WRITE,
        "DriverOptionsBuilder::content_response_on_write",
        BOOL,
        Official(OPERATION_RS),
        |c, v| {
            c.driver_options.content_response_on_write = Some(bool_(v)?);
            Some(())
        }
    ),
    var!(
        ENV_USER_AGENT_SUFFIX,
        "DriverOptionsBuilder::user_agent_suffix",
        "at most 256 visible ASCII characters",
        OfficialDocs(SDK_CONFIG_MD),
        |c, v| {
            if v.len() > 256 || http::HeaderValue::from_str(v).is_err() {
                return None;
            }
            c.driver_options.user_agent_suffix = Some(v.to_string());
            Some(())
        }
    ),
    // Regions.
    var!(
        ENV_PREFERRED_REGIONS,
        "DriverOptionsBuilder::preferred_regions",
        "comma-separated region names (e.g. `West US 2,East US`), at most 64, none empty",
        Sextant,
        |c, v| {
            let regions: Vec<String> = v.split(',').map(|r| r.trim().to_string()).collect();
            if regions.len() > 64 || regions.iter().any(|r| r.is_empty()) {
                return None;
            }
            c.driver_options.preferred_regions = Some(regions);
            Some(())
        }
    ),
    var!(
        ENV_ENDPOINT_UNAVAILABLE_TTL_MS,
        "DriverOptionsBuilder::unavailable_region_ttl",
        "milliseconds, from 1 to 86400000 (24 h)",
        Official(DRIVER_RS),
        |c, v| {
            c.driver_options.unavailable_region_ttl = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_ACCOUNT_REFRESH_INTERVAL_MS,
        "DriverOptionsBuilder::account_refresh_interval",
        "milliseconds, from 1 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.account_refresh_interval = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_MIN_FORCED_REFRESH_INTERVAL_MS,
        "DriverOptionsBuilder::min_forced_refresh_interval",
        "milliseconds, from 1 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            c.driver_options.min_forced_refresh_interval = Some(ms(v, 1, DAY_MS)?);
            Some(())
        }
    ),
    var!(
        ENV_PARTITION_ROUTING,
        "DriverOptionsBuilder::partition_routing",
        BOOL,
        Sextant,
        |c, v| {
            c.driver_options.partition_routing = Some(bool_(v)?);
            Some(())
        }
    ),
    // Hedging.
    var!(
        ENV_HEDGING_ENABLED,
        "HedgingOptions::enabled",
        BOOL,
        Official(OPERATION_RS),
        |c, v| {
            hedging(c).enabled = bool_(v)?;
            Some(())
        }
    ),
    var!(
        ENV_HEDGING_THRESHOLD_MS,
        "HedgingOptions::threshold",
        "milliseconds, from 1 to 60000",
        OfficialDocs(PIPELINE_SPEC_MD),
        |c, v| {
            hedging(c).threshold = ms(v, 1, 60_000)?;
            Some(())
        }
    ),
    var!(
        ENV_HEDGING_STEP_MS,
        "HedgingOptions::step",
        "milliseconds, from 1 to 60000",
        Sextant,
        |c, v| {
            hedging(c).step = ms(v, 1, 60_000)?;
            Some(())
        }
    ),
    var!(
        ENV_HEDGING_WRITES_ON_MULTI_WRITE,
        "HedgingOptions::writes_on_multi_write",
        BOOL,
        Sextant,
        |c, v| {
            hedging(c).writes_on_multi_write = bool_(v)?;
            Some(())
        }
    ),
    var!(
        ENV_HEDGING_MAX_HEDGES_PER_OPERATION,
        "HedgingOptions::max_hedges_per_operation",
        "an integer from 0 to 16",
        Sextant,
        |c, v| {
            hedging(c).max_hedges_per_operation = u32_(v, 0, 16)?;
            Some(())
        }
    ),
    var!(
        ENV_HEDGING_MAX_CONCURRENT_HEDGES,
        "HedgingOptions::max_concurrent_hedges",
        "an integer from 0 to 100000",
        Sextant,
        |c, v| {
            hedging(c).max_concurrent_hedges = usize_(v, 0, 100_000)?;
            Some(())
        }
    ),
    // Circuit breaker.
    var!(
        ENV_PPCB_ENABLED,
        "CircuitBreakerOptions::enabled",
        BOOL,
        Official(PPCB_RS),
        |c, v| {
            breaker(c).enabled = bool_(v)?;
            Some(())
        }
    ),
    var!(
        ENV_PPCB_READ_FAILURE_THRESHOLD,
        "CircuitBreakerOptions::read_failure_threshold",
        "an integer, at least 1",
        Official(PPCB_RS),
        |c, v| {
            breaker(c).read_failure_threshold = u32_(v, 1, u32::MAX)?;
            Some(())
        }
    ),
    var!(
        ENV_PPCB_WRITE_FAILURE_THRESHOLD,
        "CircuitBreakerOptions::write_failure_threshold",
        "an integer, at least 1",
        Official(PPCB_RS),
        |c, v| {
            breaker(c).write_failure_threshold = u32_(v, 1, u32::MAX)?;
            Some(())
        }
    ),
    var!(
        ENV_PPCB_COUNTER_RESET_WINDOW_MS,
        "CircuitBreakerOptions::failure_window",
        "milliseconds, from 1 to 86400000 (24 h)",
        Official(PPCB_RS),
        |c, v| {
            breaker(c).failure_window = ms(v, 1, DAY_MS)?;
            Some(())
        }
    ),
    var!(
        ENV_PPCB_PARTITION_UNAVAILABILITY_DURATION_MS,
        "CircuitBreakerOptions::hold",
        "milliseconds, from 1 to 3600000 (1 h)",
        Official(PPCB_RS),
        |c, v| {
            breaker(c).hold = ms(v, 1, 3_600_000)?;
            Some(())
        }
    ),
    // Telemetry: metrics.
    var!(
        ENV_METRICS_ENABLED,
        "DriverOptionsBuilder::metrics_enabled (TelemetryOptions::metrics_enabled)",
        BOOL,
        Sextant,
        |c, v| {
            c.driver_options.metrics_enabled = Some(bool_(v)?);
            Some(())
        }
    ),
    var!(
        ENV_METRICS_WINDOW_MS,
        "MetricsOptions::window",
        "milliseconds, from 1000 to 3600000 (1 s to 1 h)",
        Sextant,
        |c, v| {
            metrics(c).window = ms(v, 1000, 3_600_000)?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_WINDOW_SLOTS,
        "MetricsOptions::window_slots",
        "an integer from 1 to 120",
        Sextant,
        |c, v| {
            metrics(c).window_slots = usize_(v, 1, crate::metrics::MAX_WINDOW_SLOTS)?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_REQUEST_UNITS_PER_SECOND,
        "AlertOptions::request_units_per_second",
        "a number of RU per second, at least 0, or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.request_units_per_second = off_or(v, |v| f64_(v, 0.0, f64::MAX))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_POINT_LATENCY_P99_MS,
        "AlertOptions::point_latency_p99",
        "milliseconds, from 0 to 86400000 (24 h), or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.point_latency_p99 = off_or(v, |v| ms(v, 0, DAY_MS))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_NON_POINT_LATENCY_P99_MS,
        "AlertOptions::non_point_latency_p99",
        "milliseconds, from 0 to 86400000 (24 h), or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.non_point_latency_p99 = off_or(v, |v| ms(v, 0, DAY_MS))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_ERROR_RATE,
        "AlertOptions::error_rate",
        "a fraction from 0 to 1, or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.error_rate = off_or(v, |v| f64_(v, 0.0, 1.0))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_THROTTLE_RATE,
        "AlertOptions::throttle_rate",
        "a fraction from 0 to 1, or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.throttle_rate = off_or(v, |v| f64_(v, 0.0, 1.0))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_HOT_PARTITION_SHARE,
        "AlertOptions::hot_partition_share",
        "a fraction from 0 to 1, or off",
        Sextant,
        |c, v| {
            metrics(c).alerts.hot_partition_share = off_or(v, |v| f64_(v, 0.0, 1.0))?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_HOT_PARTITION_MIN_REQUEST_CHARGE,
        "AlertOptions::hot_partition_min_request_charge",
        "a number of RU, at least 0",
        Sextant,
        |c, v| {
            metrics(c).alerts.hot_partition_min_request_charge = f64_(v, 0.0, f64::MAX)?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_HOT_PARTITION_MIN_RANGES,
        "AlertOptions::hot_partition_min_ranges",
        "an integer, at least 0",
        Sextant,
        |c, v| {
            metrics(c).alerts.hot_partition_min_ranges = usize_(v, 0, usize::MAX)?;
            Some(())
        }
    ),
    var!(
        ENV_METRICS_ALERT_MIN_OPERATIONS,
        "AlertOptions::min_operations",
        "an integer, at least 0",
        Sextant,
        |c, v| {
            metrics(c).alerts.min_operations = v.parse().ok()?;
            Some(())
        }
    ),
    // Telemetry: diagnostics.
    var!(
        ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES,
        "DiagnosticsOptions::max_summary_size_bytes (TelemetryOptions::max_summary_size_bytes)",
        "an integer number of bytes, at least 4096",
        Official(DIAGNOSTICS_RS),
        |c, v| {
            let n = usize_(v, MIN_SUMMARY_SIZE_BYTES, usize::MAX)?;
            c.diagnostics_max_summary_size_bytes = Some(n);
            c.driver_options.diagnostics_max_summary_size_bytes = Some(n);
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_DEFAULT_VERBOSITY,
        "DiagnosticsOptions::default_verbosity (TelemetryOptions::diagnostics_verbosity)",
        "summary, detailed or default (= summary), any case",
        Official(DIAGNOSTICS_RS),
        |c, v| {
            c.driver_options.diagnostics_verbosity = Some(match v.to_ascii_lowercase().as_str() {
                "summary" | "default" => DiagnosticsVerbosity::Summary,
                "detailed" => DiagnosticsVerbosity::Detailed,
                _ => return None,
            });
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_THRESHOLD_POINT_OPERATION_LATENCY_MS,
        "DiagnosticsThresholds::with_point_operation_latency",
        "milliseconds, from 0 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            let d = ms(v, 0, DAY_MS)?;
            thresholds(c, |t| t.with_point_operation_latency(d));
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_THRESHOLD_NON_POINT_OPERATION_LATENCY_MS,
        "DiagnosticsThresholds::with_non_point_operation_latency",
        "milliseconds, from 0 to 86400000 (24 h)",
        Sextant,
        |c, v| {
            let d = ms(v, 0, DAY_MS)?;
            thresholds(c, |t| t.with_non_point_operation_latency(d));
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_THRESHOLD_REQUEST_CHARGE,
        "DiagnosticsThresholds::with_request_charge",
        "a number of RU, at least 0",
        Sextant,
        |c, v| {
            let ru = f64_(v, 0.0, f64::MAX)?;
            thresholds(c, |t| t.with_request_charge(ru));
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_THRESHOLD_PAYLOAD_SIZE_BYTES,
        "DiagnosticsThresholds::with_payload_size_bytes",
        "an integer number of bytes, or off",
        Sextant,
        |c, v| {
            let n = off_or(v, |v| v.parse::<u64>().ok())?;
            thresholds(c, |t| t.with_payload_size_bytes(n));
            Some(())
        }
    ),
    var!(
        ENV_DIAGNOSTICS_THRESHOLD_FAILURES,
        "DiagnosticsThresholds::with_failures",
        BOOL,
        Sextant,
        |c, v| {
            let yes = bool_(v)?;
            thresholds(c, |t| t.with_failures(yes));
            Some(())
        }
    ),
];

/// Settings read from the environment. Unknown `AZURE_COSMOS_*` variables are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvironmentConfig {
    /// `AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED`.
    pub emulator_cert_validation_disabled: bool,
    /// `AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES` (also in `driver_options`).
    pub diagnostics_max_summary_size_bytes: Option<usize>,
    /// Every driver setting the environment sets: the lowest layer under the runtime's and the
    /// drivers' options ([`DriverOptions::with_environment`]).
    pub driver_options: DriverOptions,
    /// `AZURE_COSMOS_CONNECTION_POOL_MAX_IDLE_CONNECTIONS_PER_ENDPOINT`.
    pub max_idle_connections_per_host: Option<usize>,
    /// `AZURE_COSMOS_CONNECTION_POOL_IDLE_CONNECTION_TIMEOUT_MS`.
    pub idle_timeout: Option<Duration>,
    /// `AZURE_COSMOS_CONNECTION_POOL_MAX_CONNECT_TIMEOUT_MS`.
    pub connect_timeout: Option<Duration>,
    /// `AZURE_COSMOS_SEED`.
    pub seed: Option<u64>,
}

impl EnvironmentConfig {
    /// Parses the variables from `vars` (the transport collects the process's `AZURE_COSMOS_*`
    /// variables; tests pass a literal map). A malformed value is an error naming the variable
    /// and the accepted form; an empty one counts as unset.
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut cfg = EnvironmentConfig::default();
        for var in VARIABLES {
            let Some(raw) = vars.get(var.name) else {
                continue;
            };
            let value = raw.trim();
            if value.is_empty() {
                continue;
            }
            if (var.apply)(&mut cfg, value).is_none() {
                return Err(ConfigError::InvalidSetting {
                    name: var.name.into(),
                    value: crate::redact::redact(raw),
                    expected: var.accepted.into(),
                });
            }
        }
        // Every value was range-checked above with the builders' bounds; this is the same
        // check `DriverOptionsBuilder::build` makes, so the two can never disagree silently.
        crate::options::driver_options::validate(&cfg.driver_options).map_err(|e| match e {
            ConfigError::InvalidSetting {
                name,
                value,
                expected,
            } => ConfigError::InvalidSetting {
                name: format!("{name} (set by an AZURE_COSMOS_* variable)"),
                value,
                expected,
            },
            other => other,
        })?;
        Ok(cfg)
    }

    /// The connection pool the environment describes: each field from its variable, else its
    /// default. Used when neither the runtime builder nor the runtime's driver options set a
    /// pool.
    pub fn connection_pool(&self) -> ConnectionPoolOptions {
        let d = ConnectionPoolOptions::default();
        ConnectionPoolOptions {
            max_idle_connections_per_host: self
                .max_idle_connections_per_host
                .unwrap_or(d.max_idle_connections_per_host),
            idle_timeout: self.idle_timeout.unwrap_or(d.idle_timeout),
            connect_timeout: self.connect_timeout.unwrap_or(d.connect_timeout),
        }
    }

    /// The names of every variable Sextant reads ([`VARIABLES`]).
    pub fn variable_names() -> impl Iterator<Item = &'static str> {
        VARIABLES.iter().map(|v| v.name)
    }
}

impl VariableOrigin {
    /// The file or document of the official repository the name comes from (`None` for
    /// Sextant's own).
    pub fn source(self) -> Option<&'static str> {
        match self {
            Official(f) | OfficialDocs(f) => Some(f),
            Sextant => None,
        }
    }
}

fn hedging(c: &mut EnvironmentConfig) -> &mut crate::options::HedgingOptions {
    c.driver_options
        .hedging
        .get_or_insert_with(Default::default)
}

fn breaker(c: &mut EnvironmentConfig) -> &mut crate::regions::CircuitBreakerOptions {
    c.driver_options
        .circuit_breaker
        .get_or_insert_with(Default::default)
}

fn metrics(c: &mut EnvironmentConfig) -> &mut crate::metrics::MetricsOptions {
    c.driver_options
        .metrics
        .get_or_insert_with(Default::default)
}

fn thresholds(
    c: &mut EnvironmentConfig,
    f: impl FnOnce(DiagnosticsThresholds) -> DiagnosticsThresholds,
) {
    let t = c
        .driver_options
        .diagnostics_thresholds
        .take()
        .unwrap_or_default();
    c.driver_options.diagnostics_thresholds = Some(f(t));
}

fn bool_(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "enabled" => Some(true),
        "false" | "0" | "no" | "off" | "disabled" => Some(false),
        _ => None,
    }
}

fn u64_(v: &str, min: u64, max: u64) -> Option<u64> {
    v.parse::<u64>().ok().filter(|n| (min..=max).contains(n))
}

fn u32_(v: &str, min: u32, max: u32) -> Option<u32> {
    u32::try_from(u64_(v, u64::from(min), u64::from(max))?).ok()
}

fn usize_(v: &str, min: usize, max: usize) -> Option<usize> {
    let min = u64::try_from(min).ok()?;
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    usize::try_from(u64_(v, min, max)?).ok()
}

fn ms(v: &str, min: u64, max: u64) -> Option<Duration> {
    u64_(v, min, max).map(Duration::from_millis)
}

fn f64_(v: &str, min: f64, max: f64) -> Option<f64> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= min && *x <= max)
}

/// `off` (any case) is `Some(None)`; otherwise `parse` decides.
fn off_or<T>(v: &str, parse: impl FnOnce(&str) -> Option<T>) -> Option<Option<T>> {
    if v.eq_ignore_ascii_case("off") {
        Some(None)
    } else {
        parse(v).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(pairs: &[(&str, &str)]) -> EnvironmentConfig {
        EnvironmentConfig::from_map(&map(pairs)).unwrap()
    }

    #[test]
    fn defaults_when_unset() {
        assert_eq!(parse(&[]), EnvironmentConfig::default());
        // An empty value is the same as no variable.
        assert_eq!(
            parse(&[(ENV_REQUEST_TIMEOUT_MS, ""), (ENV_PPCB_ENABLED, "  ")]),
            EnvironmentConfig::default()
        );
        // Unknown AZURE_COSMOS_* variables (the official SDKs' test variables) are ignored.
        assert_eq!(
            parse(&[("AZURE_COSMOS_CONNECTION_STRING", "x"), ("PATH", "/bin")]),
            EnvironmentConfig::default()
        );
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = EnvironmentConfig::variable_names().collect();
        assert!(names.iter().all(|n| n.starts_with("AZURE_COSMOS_")));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a variable is listed twice");
    }

    #[test]
    fn parses_and_rejects_with_the_variable_name() {
        let c = parse(&[(ENV_EMULATOR_CERT_VALIDATION_DISABLED, "TRUE")]);
        assert!(c.emulator_cert_validation_disabled);
        let e =
            EnvironmentConfig::from_map(&map(&[(ENV_EMULATOR_CERT_VALIDATION_DISABLED, "maybe")]))
                .unwrap_err();
        assert!(
            e.to_string()
                .contains(ENV_EMULATOR_CERT_VALIDATION_DISABLED),
            "{e}"
        );
        let e =
            EnvironmentConfig::from_map(&map(&[(ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES, "100")]))
                .unwrap_err();
        assert!(e.to_string().contains("4096"), "{e}");
    }

    /// A value each variable accepts, and one it refuses.
    fn sample(name: &str) -> (&'static str, &'static str) {
        match name {
            ENV_CONSISTENCY_LEVEL => ("eventual", "Linearizable"),
            ENV_USER_AGENT_SUFFIX => ("my-app/1.0", "bad\u{1}suffix"),
            ENV_PREFERRED_REGIONS => ("West US 2, East US", "West US,,East US"),
            ENV_DIAGNOSTICS_DEFAULT_VERBOSITY => ("Detailed", "verbose"),
            ENV_SEED => ("42", "-1"),
            ENV_EMULATOR_CERT_VALIDATION_DISABLED => ("on", "maybe"),
            ENV_MAX_RESPONSE_BYTES | ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES => ("1048576", "12"),
            ENV_METRICS_WINDOW_MS => ("30000", "10"),
            ENV_METRICS_WINDOW_SLOTS => ("30", "0"),
            ENV_PPCB_READ_FAILURE_THRESHOLD | ENV_PPCB_WRITE_FAILURE_THRESHOLD => ("3", "0"),
            ENV_METRICS_ALERT_ERROR_RATE
            | ENV_METRICS_ALERT_THROTTLE_RATE
            | ENV_METRICS_ALERT_HOT_PARTITION_SHARE => ("0.25", "1.5"),
            n if n.ends_with("_MS") => ("1500", "1e3"),
            _ => {
                let v = VARIABLES
                    .iter()
                    .find(|v| v.name == name)
                    .map(|v| v.accepted);
                if v == Some(BOOL) {
                    ("off", "maybe")
                } else {
                    ("7", "-7")
                }
            }
        }
    }

    #[test]
    fn every_variable_parses_and_names_itself_when_malformed() {
        for var in VARIABLES {
            let (good, bad) = sample(var.name);
            let c = EnvironmentConfig::from_map(&map(&[(var.name, good)]))
                .unwrap_or_else(|e| panic!("{} = {good:?}: {e}", var.name));
            assert_ne!(
                c,
                EnvironmentConfig::default(),
                "{} = {good:?} set nothing",
                var.name
            );
            let e = EnvironmentConfig::from_map(&map(&[(var.name, bad)])).expect_err(var.name);
            let text = e.to_string();
            assert!(text.contains(var.name), "{}: {text}", var.name);
            assert!(text.contains(var.accepted), "{}: {text}", var.name);
        }
    }

    #[test]
    fn values_land_on_their_settings() {
        let c = parse(&[
            (ENV_REQUEST_TIMEOUT_MS, "2500"),
            (ENV_END_TO_END_TIMEOUT_MS, "20000"),
            (ENV_MAX_THROTTLE_RETRY_COUNT, "4"),
            (ENV_MAX_THROTTLE_WAIT_MS, "10000"),
            (ENV_THROTTLE_FALLBACK_DELAY_MS, "250"),
            (ENV_RETRY_ON_THROTTLE, "false"),
            (ENV_MAX_FAILOVER_RETRY_COUNT, "5"),
            (ENV_CONSISTENCY_LEVEL, "Session"),
            (ENV_CONTENT_RESPONSE_ON_WRITE, "disabled"),
            (ENV_PREFERRED_REGIONS, "West US 2,East US"),
            (ENV_HEDGING_THRESHOLD_MS, "200"),
            (ENV_PPCB_ENABLED, "false"),
            (ENV_METRICS_ENABLED, "no"),
            (ENV_METRICS_ALERT_ERROR_RATE, "off"),
            (ENV_DIAGNOSTICS_DEFAULT_VERBOSITY, "detailed"),
            (ENV_DIAGNOSTICS_THRESHOLD_PAYLOAD_SIZE_BYTES, "1024"),
            (ENV_MAX_IDLE_CONNECTIONS_PER_HOST, "20"),
            (ENV_IDLE_TIMEOUT_MS, "30000"),
            (ENV_CONNECT_TIMEOUT_MS, "1000"),
            (ENV_SEED, "7"),
        ]);
        let eff = c.driver_options.resolve();
        assert_eq!(eff.request_timeout, Duration::from_millis(2500));
        assert_eq!(eff.end_to_end_timeout, Some(Duration::from_secs(20)));
        // retry_on_throttle=false wins over the retry count.
        assert_eq!(eff.max_throttle_retries, 0);
        assert_eq!(eff.max_throttle_wait, Duration::from_secs(10));
        assert_eq!(eff.throttle_fallback_delay, Duration::from_millis(250));
        assert_eq!(eff.max_failover_retries, 5);
        assert_eq!(eff.consistency_level, Some(ConsistencyLevel::Session));
        assert!(!eff.content_response_on_write);
        assert_eq!(eff.preferred_regions, vec!["West US 2", "East US"]);
        assert_eq!(eff.hedging.threshold, Duration::from_millis(200));
        assert_eq!(
            eff.hedging.step,
            crate::options::hedging::DEFAULT_HEDGE_STEP,
            "other hedging fields keep their defaults"
        );
        assert!(!eff.circuit_breaker.enabled);
        assert!(!eff.metrics_enabled);
        assert_eq!(eff.metrics.alerts.error_rate, None);
        assert_eq!(
            eff.diagnostics.default_verbosity(),
            DiagnosticsVerbosity::Detailed
        );
        assert_eq!(
            eff.diagnostics.thresholds().payload_size_bytes(),
            Some(1024)
        );
        let pool = c.connection_pool();
        assert_eq!(pool.max_idle_connections_per_host, 20);
        assert_eq!(pool.idle_timeout, Duration::from_secs(30));
        assert_eq!(pool.connect_timeout, Duration::from_secs(1));
        assert_eq!(c.seed, Some(7));
    }

    #[test]
    fn values_are_redacted_in_errors() {
        let key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
        // Too long for a suffix, so refused, and the key in it is not repeated in the error.
        let value = key.repeat(4);
        let e = EnvironmentConfig::from_map(&map(&[(ENV_USER_AGENT_SUFFIX, value.as_str())]))
            .unwrap_err();
        assert!(e.to_string().contains(ENV_USER_AGENT_SUFFIX), "{e}");
        assert!(!e.to_string().contains(key), "{e}");
    }
}
