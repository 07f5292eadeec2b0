//! `environment`: [`EnvironmentConfig::from_map`] on arbitrary variables, and option validation.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ensure, ByteReader, Violation};
use sextant_core::diagnostics::{
    DiagnosticsOptions, DiagnosticsThresholds, MIN_MAX_SUMMARY_SIZE_BYTES,
};
use sextant_core::options::environment::{
    ENV_CONNECT_TIMEOUT_MS, ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES,
    ENV_EMULATOR_CERT_VALIDATION_DISABLED, ENV_HEDGING_THRESHOLD_MS, ENV_MAX_THROTTLE_RETRY_COUNT,
    ENV_METRICS_ALERT_ERROR_RATE, ENV_PREFERRED_REGIONS, ENV_REQUEST_TIMEOUT_MS,
    MIN_SUMMARY_SIZE_BYTES,
};
use sextant_core::options::HedgingOptions;
use sextant_core::regions::CircuitBreakerOptions;
use sextant_core::{DriverOptions, EnvironmentConfig, RuntimeOptions};

const T: &str = "environment";

const KEYS: [&str; 12] = [
    ENV_EMULATOR_CERT_VALIDATION_DISABLED,
    ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES,
    ENV_REQUEST_TIMEOUT_MS,
    ENV_MAX_THROTTLE_RETRY_COUNT,
    ENV_HEDGING_THRESHOLD_MS,
    ENV_METRICS_ALERT_ERROR_RATE,
    ENV_PREFERRED_REGIONS,
    ENV_CONNECT_TIMEOUT_MS,
    "azure_cosmos_emulator_server_cert_validation_disabled",
    "AZURE_COSMOS_UNKNOWN",
    "PATH",
    "",
];
const VALUES: [&str; 16] = [
    "true",
    "TRUE",
    " yes ",
    "1",
    "0",
    "false",
    "",
    "maybe",
    "4096",
    "4095",
    " 8192 ",
    "+4096",
    "-1",
    "18446744073709551616",
    "1e4",
    "\u{3000}8192",
];

/// Decodes up to 8 variables (names from a small set including the real ones, or arbitrary;
/// values likewise) and parses them: a success must respect the documented minimum and agree
/// with [`RuntimeOptions::with_environment`]; an error must name the offending variable. Then
/// decodes diagnostics options (size cap, thresholds) and [`DriverOptions`] builder settings: a build that succeeds resolves and layers
/// without surprises.
pub fn environment(data: &[u8]) -> Result<(), Violation> {
    let mut r = ByteReader::new(data);
    let mut vars = BTreeMap::new();
    for _ in 0..r.below(9) {
        let key = if r.below(4) == 0 {
            r.string(64)
        } else {
            r.pick(&KEYS).unwrap_or_default().to_owned()
        };
        let value = if r.below(3) == 0 {
            r.string(40)
        } else {
            r.pick(&VALUES).unwrap_or_default().to_owned()
        };
        vars.insert(key, value);
    }
    match EnvironmentConfig::from_map(&vars) {
        Ok(cfg) => {
            if let Some(n) = cfg.diagnostics_max_summary_size_bytes {
                ensure!(
                    T,
                    n >= MIN_SUMMARY_SIZE_BYTES,
                    "summary size {n} accepted below the minimum"
                );
            }
            if cfg.emulator_cert_validation_disabled {
                ensure!(
                    T,
                    vars.contains_key(ENV_EMULATOR_CERT_VALIDATION_DISABLED),
                    "certificate validation disabled without the variable"
                );
            }
            let diagnostics = DiagnosticsOptions::from_environment(&cfg);
            ensure!(
                T,
                diagnostics.max_summary_size_bytes() >= MIN_MAX_SUMMARY_SIZE_BYTES
                    && cfg
                        .diagnostics_max_summary_size_bytes
                        .is_none_or(|n| n == diagnostics.max_summary_size_bytes()),
                "the environment's summary size {:?} became {}",
                cfg.diagnostics_max_summary_size_bytes,
                diagnostics.max_summary_size_bytes()
            );
            let runtime = RuntimeOptions::default().with_environment(&cfg);
            ensure!(
                T,
                runtime.emulator_server_cert_validation_disabled
                    == cfg.emulator_cert_validation_disabled,
                "the runtime options disagree with the environment"
            );
            ensure!(
                T,
                runtime.effective_connection_pool().validate().is_ok(),
                "the environment's pool {:?} is out of range",
                runtime.effective_connection_pool()
            );
            ensure!(
                T,
                runtime.driver_options == cfg.driver_options,
                "the environment's layer changed on the way to the runtime"
            );
        }
        Err(e) => {
            let text = e.to_string();
            ensure!(
                T,
                EnvironmentConfig::variable_names().any(|name| text.contains(name)),
                "error {text:?} names no variable"
            );
        }
    }
    diagnostics_options(&mut r)?;
    driver_options(&mut r)
}

fn duration(r: &mut ByteReader<'_>) -> Duration {
    match r.below(4) {
        0 => Duration::ZERO,
        1 => Duration::from_millis(u64::from(r.u32())),
        2 => Duration::from_secs(u64::from(r.u32())),
        _ => Duration::from_nanos(r.u64()),
    }
}

fn diagnostics_options(r: &mut ByteReader<'_>) -> Result<(), Violation> {
    let cap = match r.below(3) {
        0 => None,
        1 => Some(r.u16() as usize),
        _ => Some(r.u32() as usize),
    };
    let mut b = DiagnosticsOptions::builder();
    if let Some(n) = cap {
        b = b.max_summary_size_bytes(n);
    }
    let thresholds = DiagnosticsThresholds::default()
        .with_point_operation_latency(duration(r))
        .with_non_point_operation_latency(duration(r))
        .with_request_charge(f64::from_bits(r.u64()))
        .with_payload_size_bytes(r.bool().then(|| r.u64()))
        .with_failures(r.bool());
    if r.bool() {
        b = b.thresholds(thresholds);
    }
    match b.build() {
        Ok(o) => {
            ensure!(
                T,
                o.max_summary_size_bytes() >= MIN_MAX_SUMMARY_SIZE_BYTES
                    && cap.is_none_or(|n| n == o.max_summary_size_bytes()),
                "summary cap {cap:?} built as {}",
                o.max_summary_size_bytes()
            );
            let again = o.to_builder().build();
            ensure!(
                T,
                again.as_ref() == Ok(&o),
                "rebuilding {o:?} gives {again:?}"
            );
        }
        Err(e) => ensure!(T, !e.to_string().is_empty(), "an empty error"),
    }
    Ok(())
}

fn driver_options(r: &mut ByteReader<'_>) -> Result<(), Violation> {
    let mut b = DriverOptions::builder();
    for _ in 0..r.below(12) {
        b = match r.below(17) {
            0 => b.request_timeout(duration(r)),
            1 => b.metadata_request_timeout(duration(r)),
            2 => b.end_to_end_timeout(duration(r)),
            3 => b.max_throttle_retries(r.u32()),
            4 => b.max_failover_retries(r.u32()),
            5 => b.max_response_bytes(r.u32() as usize),
            6 => b.user_agent_suffix(r.string(64)),
            7 => b.preferred_regions((0..r.below(4)).map(|_| r.string(8)).collect::<Vec<_>>()),
            8 => b.unavailable_region_ttl(duration(r)),
            9 => b.account_refresh_interval(duration(r)),
            10 => b.min_forced_refresh_interval(duration(r)),
            11 => b.hedging(HedgingOptions {
                enabled: r.bool(),
                writes_on_multi_write: r.bool(),
                threshold: duration(r),
                step: duration(r),
                max_hedges_per_operation: r.u32(),
                max_concurrent_hedges: r.u32() as usize,
            }),
            12 => b.circuit_breaker(CircuitBreakerOptions {
                enabled: r.bool(),
                read_failure_threshold: r.u32(),
                write_failure_threshold: r.u32(),
                failure_window: duration(r),
                hold: duration(r),
            }),
            13 => b.throttle_fallback_delay(duration(r)),
            14 => b.retry_on_throttle(r.bool()),
            15 => b.metrics_enabled(r.bool()),
            _ => b.max_throttle_wait(duration(r)),
        };
    }
    if let Ok(o) = b.build() {
        ensure!(
            T,
            o.layered_over(&DriverOptions::default()) == o,
            "layering over the defaults changed the options"
        );
        ensure!(
            T,
            DriverOptions::default().layered_over(&o) == o,
            "unset options did not inherit every setting"
        );
        ensure!(
            T,
            o.effective_max_response_bytes() >= 64 * 1024,
            "max_response_bytes {} accepted",
            o.effective_max_response_bytes()
        );
    }
    Ok(())
}
