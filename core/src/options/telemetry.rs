//! The seed's `TelemetryOptions` ("distributed tracing and logging"): a public face over
//! Sextant's diagnostics and metrics settings.
//!
//! | Field                    | Sextant setting                                       | Default |
//! |--------------------------|-------------------------------------------------------|---------|
//! | `diagnostics_verbosity`  | `DiagnosticsOptions::default_verbosity`               | Summary |
//! | `max_summary_size_bytes` | `DiagnosticsOptions::max_summary_size_bytes`          | 8 KiB   |
//! | `diagnostics_thresholds` | `DiagnosticsOptions::thresholds`                      | 1 s / 3 s / 1000 RU / failures |
//! | `metrics_enabled`        | `DriverOptionsBuilder::metrics_enabled`               | true    |
//! | `metrics`                | `DriverOptionsBuilder::metrics` (window, alert rules) | 60 s window |
//!
//! The seed names the type but no fields; these are the ones the official SDKs' telemetry
//! options carry that Sextant has something behind: Java's `CosmosClientTelemetryConfig`
//! (diagnostics thresholds, metrics on/off) and .NET's `CosmosClientTelemetryOptions`
//! (`CosmosThresholdOptions`), plus the seed's own diagnostics verbosity and summary cap.
//!
//! Not here, because Sextant has nothing for them to control: distributed tracing (Sextant
//! emits no spans; .NET's `DisableDistributedTracing` would switch nothing off) and sending
//! telemetry to the service (Java `sendClientTelemetryToService`, .NET
//! `DisableSendingMetricsToService`: Sextant never sends any). The only log output is one
//! `tracing` event (target `sextant::diagnostics`) for an operation that crosses a threshold,
//! which the thresholds decide.

use crate::diagnostics::{DiagnosticsThresholds, DiagnosticsVerbosity, MIN_MAX_SUMMARY_SIZE_BYTES};
use crate::error::ConfigError;
use crate::metrics::MetricsOptions;

/// Diagnostics and metrics settings, in the seed's `TelemetryOptions` slot. Only the settings
/// that were set are applied by
/// [`DriverOptionsBuilder::telemetry_options`](crate::options::DriverOptionsBuilder::telemetry_options).
///
/// Build with [`TelemetryOptions::builder`]; the getters return the value in force when
/// nothing else sets it (the default when unset here).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryOptions {
    /// → `DiagnosticsOptions::default_verbosity`.
    pub(crate) diagnostics_verbosity: Option<DiagnosticsVerbosity>,
    /// → `DiagnosticsOptions::max_summary_size_bytes`.
    pub(crate) max_summary_size_bytes: Option<usize>,
    /// → `DiagnosticsOptions::thresholds`.
    pub(crate) diagnostics_thresholds: Option<DiagnosticsThresholds>,
    /// → `DriverOptionsBuilder::metrics_enabled`.
    pub(crate) metrics_enabled: Option<bool>,
    /// → `DriverOptionsBuilder::metrics`.
    pub(crate) metrics: Option<MetricsOptions>,
}

impl TelemetryOptions {
    /// A builder with nothing set.
    pub fn builder() -> TelemetryOptionsBuilder {
        TelemetryOptionsBuilder::default()
    }

    /// The verbosity of a diagnostics JSON string when the caller names none, and of the
    /// threshold log line. Default Summary (seed spec, "Verbosity Levels"; the official Rust
    /// driver's `AZURE_COSMOS_DIAGNOSTICS_DEFAULT_VERBOSITY` default).
    pub fn diagnostics_verbosity(&self) -> DiagnosticsVerbosity {
        self.diagnostics_verbosity.unwrap_or_default()
    }

    /// Cap on the Summary diagnostics JSON in bytes. Default 8 KiB, at least 4 KiB (seed spec,
    /// "Size Limits").
    pub fn max_summary_size_bytes(&self) -> usize {
        self.max_summary_size_bytes
            .unwrap_or(crate::diagnostics::DEFAULT_MAX_SUMMARY_SIZE_BYTES)
    }

    /// When an operation's diagnostics are logged. Defaults: point operations slower than
    /// 1 s, others slower than 3 s (Java `CosmosDiagnosticsThresholds`, .NET
    /// `CosmosThresholdOptions`), more than 1000 RU (Java), failures; payload size off.
    pub fn diagnostics_thresholds(&self) -> DiagnosticsThresholds {
        self.diagnostics_thresholds.clone().unwrap_or_default()
    }

    /// Whether the driver records metrics (operation counters, latency histograms, the
    /// sliding window and its alerts). Default true: recording is bounded in memory and costs
    /// ≈ 100 ns per operation (`core/src/metrics`); nothing is sent anywhere. `false` leaves the
    /// snapshot empty and raises no alert.
    pub fn metrics_enabled(&self) -> bool {
        self.metrics_enabled.unwrap_or(true)
    }

    /// The metrics window and alert rules (defaults: [`MetricsOptions::default`]).
    pub fn metrics(&self) -> MetricsOptions {
        self.metrics.clone().unwrap_or_default()
    }
}

/// Builder for [`TelemetryOptions`].
#[derive(Debug, Clone, Default)]
pub struct TelemetryOptionsBuilder {
    o: TelemetryOptions,
}

impl TelemetryOptionsBuilder {
    /// Diagnostics verbosity (default Summary). See [`TelemetryOptions::diagnostics_verbosity`].
    pub fn diagnostics_verbosity(mut self, v: DiagnosticsVerbosity) -> Self {
        self.o.diagnostics_verbosity = Some(v);
        self
    }

    /// Summary cap in bytes (default 8 KiB; below 4 KiB `build` fails). See
    /// [`TelemetryOptions::max_summary_size_bytes`].
    pub fn max_summary_size_bytes(mut self, n: usize) -> Self {
        self.o.max_summary_size_bytes = Some(n);
        self
    }

    /// Logging thresholds. See [`TelemetryOptions::diagnostics_thresholds`].
    pub fn diagnostics_thresholds(mut self, t: DiagnosticsThresholds) -> Self {
        self.o.diagnostics_thresholds = Some(t);
        self
    }

    /// Record metrics (default true). See [`TelemetryOptions::metrics_enabled`].
    pub fn metrics_enabled(mut self, yes: bool) -> Self {
        self.o.metrics_enabled = Some(yes);
        self
    }

    /// Metrics window and alert rules. See [`TelemetryOptions::metrics`].
    pub fn metrics(mut self, m: MetricsOptions) -> Self {
        self.o.metrics = Some(m);
        self
    }

    /// Checks the values are in range; an error names the field and its accepted range.
    pub fn build(self) -> Result<TelemetryOptions, ConfigError> {
        if let Some(n) = self.o.max_summary_size_bytes {
            if n < MIN_MAX_SUMMARY_SIZE_BYTES {
                return Err(ConfigError::InvalidSetting {
                    name: "max_summary_size_bytes".into(),
                    value: n.to_string(),
                    expected: format!("at least {MIN_MAX_SUMMARY_SIZE_BYTES} bytes"),
                });
            }
        }
        if let Some(t) = &self.o.diagnostics_thresholds {
            t.validate()?;
        }
        Ok(self.o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn defaults_and_values() {
        let o = TelemetryOptions::builder().build().unwrap();
        assert_eq!(o.diagnostics_verbosity(), DiagnosticsVerbosity::Summary);
        assert_eq!(o.max_summary_size_bytes(), 8 * 1024);
        assert_eq!(o.diagnostics_thresholds(), DiagnosticsThresholds::default());
        assert!(o.metrics_enabled());
        assert_eq!(o.metrics(), MetricsOptions::default());
        let t = DiagnosticsThresholds::default()
            .with_point_operation_latency(Duration::from_millis(50));
        let o = TelemetryOptions::builder()
            .diagnostics_verbosity(DiagnosticsVerbosity::Detailed)
            .max_summary_size_bytes(16 * 1024)
            .diagnostics_thresholds(t.clone())
            .metrics_enabled(false)
            .build()
            .unwrap();
        assert_eq!(o.diagnostics_verbosity(), DiagnosticsVerbosity::Detailed);
        assert_eq!(o.max_summary_size_bytes(), 16 * 1024);
        assert_eq!(o.diagnostics_thresholds(), t);
        assert!(!o.metrics_enabled());
    }

    #[test]
    fn errors_name_the_field() {
        let e = TelemetryOptions::builder()
            .max_summary_size_bytes(100)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("max_summary_size_bytes"), "{e}");
        let e = TelemetryOptions::builder()
            .diagnostics_thresholds(DiagnosticsThresholds::default().with_request_charge(-1.0))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("request_charge"), "{e}");
    }
}
