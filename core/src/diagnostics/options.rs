//! Diagnostics options: output verbosity, the summary size cap and the logging thresholds.

use crate::error::ConfigError;
use crate::options::environment::{EnvironmentConfig, MIN_SUMMARY_SIZE_BYTES};

use super::thresholds::DiagnosticsThresholds;

/// Default cap on the Summary JSON, in bytes (seed spec: 8 KB).
pub const DEFAULT_MAX_SUMMARY_SIZE_BYTES: usize = 8 * 1024;
/// Smallest accepted cap (seed spec: 4 KB). The same constant bounds the environment variable.
pub const MIN_MAX_SUMMARY_SIZE_BYTES: usize = MIN_SUMMARY_SIZE_BYTES;

/// How much a diagnostics JSON string says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DiagnosticsVerbosity {
    /// Every retained request in full: deep debugging, local development.
    Detailed,
    /// Grouped by region, first and last request in full, the middle deduplicated, and capped
    /// at [`DiagnosticsOptions::max_summary_size_bytes`]: production logs.
    #[default]
    Summary,
}

impl DiagnosticsVerbosity {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticsVerbosity::Detailed => "detailed",
            DiagnosticsVerbosity::Summary => "summary",
        }
    }
}

/// How diagnostics are rendered and when an operation's diagnostics are worth logging.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosticsOptions {
    max_summary_size_bytes: usize,
    default_verbosity: DiagnosticsVerbosity,
    thresholds: DiagnosticsThresholds,
}

impl Default for DiagnosticsOptions {
    fn default() -> Self {
        DiagnosticsOptions {
            max_summary_size_bytes: DEFAULT_MAX_SUMMARY_SIZE_BYTES,
            default_verbosity: DiagnosticsVerbosity::default(),
            thresholds: DiagnosticsThresholds::default(),
        }
    }
}

impl DiagnosticsOptions {
    /// The defaults with this Summary cap (at least [`MIN_MAX_SUMMARY_SIZE_BYTES`]).
    pub(crate) fn with_max_summary_size(n: usize) -> DiagnosticsOptions {
        DiagnosticsOptions {
            max_summary_size_bytes: n.max(MIN_MAX_SUMMARY_SIZE_BYTES),
            ..DiagnosticsOptions::default()
        }
    }

    /// The defaults with the parts that are given (already range-checked by the caller; the
    /// cap is raised to [`MIN_MAX_SUMMARY_SIZE_BYTES`] if below).
    pub(crate) fn from_parts(
        max_summary_size_bytes: Option<usize>,
        default_verbosity: Option<DiagnosticsVerbosity>,
        thresholds: Option<DiagnosticsThresholds>,
    ) -> DiagnosticsOptions {
        let d = DiagnosticsOptions::default();
        DiagnosticsOptions {
            max_summary_size_bytes: max_summary_size_bytes.map_or(d.max_summary_size_bytes, |n| {
                n.max(MIN_MAX_SUMMARY_SIZE_BYTES)
            }),
            default_verbosity: default_verbosity.unwrap_or(d.default_verbosity),
            thresholds: thresholds.unwrap_or(d.thresholds),
        }
    }

    /// A builder starting from the defaults.
    pub fn builder() -> DiagnosticsOptionsBuilder {
        DiagnosticsOptionsBuilder::default()
    }

    /// The defaults with the environment applied: the summary cap
    /// (`AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES`), the verbosity
    /// (`AZURE_COSMOS_DIAGNOSTICS_DEFAULT_VERBOSITY`) and the thresholds
    /// (`AZURE_COSMOS_DIAGNOSTICS_THRESHOLD_*`), all range-checked when parsed.
    pub fn from_environment(env: &EnvironmentConfig) -> Self {
        let layer = &env.driver_options;
        DiagnosticsOptions::from_parts(
            env.diagnostics_max_summary_size_bytes
                .or(layer.diagnostics_max_summary_size_bytes),
            layer.diagnostics_verbosity,
            layer.diagnostics_thresholds.clone(),
        )
    }

    /// A builder starting from these options (to override some fields).
    pub fn to_builder(&self) -> DiagnosticsOptionsBuilder {
        DiagnosticsOptionsBuilder {
            o: self.clone(),
            max_summary_size_bytes: None,
        }
    }

    /// The Summary JSON never exceeds this many bytes (default 8 KiB, at least 4 KiB).
    pub fn max_summary_size_bytes(&self) -> usize {
        self.max_summary_size_bytes
    }

    /// The verbosity used when the caller does not name one (default Summary).
    pub fn default_verbosity(&self) -> DiagnosticsVerbosity {
        self.default_verbosity
    }

    /// When an operation's diagnostics should be logged.
    pub fn thresholds(&self) -> &DiagnosticsThresholds {
        &self.thresholds
    }
}

/// Builder for [`DiagnosticsOptions`].
#[derive(Debug, Clone, Default)]
pub struct DiagnosticsOptionsBuilder {
    o: DiagnosticsOptions,
    max_summary_size_bytes: Option<usize>,
}

impl DiagnosticsOptionsBuilder {
    /// Cap on the Summary JSON in bytes (default 8 KiB; below 4 KiB `build` fails).
    pub fn max_summary_size_bytes(mut self, bytes: usize) -> Self {
        self.max_summary_size_bytes = Some(bytes);
        self
    }

    /// The verbosity used when none is named (default Summary).
    pub fn default_verbosity(mut self, verbosity: DiagnosticsVerbosity) -> Self {
        self.o.default_verbosity = verbosity;
        self
    }

    /// Logging thresholds (defaults: see [`DiagnosticsThresholds`]).
    pub fn thresholds(mut self, thresholds: DiagnosticsThresholds) -> Self {
        self.o.thresholds = thresholds;
        self
    }

    /// Checks the values are in range.
    pub fn build(self) -> Result<DiagnosticsOptions, ConfigError> {
        let mut o = self.o;
        if let Some(n) = self.max_summary_size_bytes {
            if n < MIN_MAX_SUMMARY_SIZE_BYTES {
                return Err(ConfigError::InvalidSetting {
                    name: "max_summary_size_bytes".into(),
                    value: n.to_string(),
                    expected: format!("at least {MIN_MAX_SUMMARY_SIZE_BYTES} bytes"),
                });
            }
            o.max_summary_size_bytes = n;
        }
        o.thresholds.validate()?;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn defaults_and_minimum() {
        let o = DiagnosticsOptions::builder().build().unwrap();
        assert_eq!(o.max_summary_size_bytes(), 8 * 1024);
        assert_eq!(o.default_verbosity(), DiagnosticsVerbosity::Summary);
        let e = DiagnosticsOptions::builder()
            .max_summary_size_bytes(4095)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("max_summary_size_bytes"), "{e}");
        assert!(e.to_string().contains("4096"), "{e}");
        let o = DiagnosticsOptions::builder()
            .max_summary_size_bytes(4096)
            .default_verbosity(DiagnosticsVerbosity::Detailed)
            .build()
            .unwrap();
        assert_eq!(o.max_summary_size_bytes(), 4096);
        assert_eq!(o.default_verbosity(), DiagnosticsVerbosity::Detailed);
    }

    #[test]
    fn from_environment() {
        let mut vars = BTreeMap::new();
        vars.insert(
            crate::options::environment::ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES.to_string(),
            "16384".to_string(),
        );
        let env = EnvironmentConfig::from_map(&vars).unwrap();
        let o = DiagnosticsOptions::from_environment(&env);
        assert_eq!(o.max_summary_size_bytes(), 16384);
        let o = o
            .to_builder()
            .default_verbosity(DiagnosticsVerbosity::Detailed)
            .build()
            .unwrap();
        assert_eq!(o.max_summary_size_bytes(), 16384);
        assert_eq!(
            DiagnosticsOptions::from_environment(&EnvironmentConfig::default()),
            DiagnosticsOptions::default()
        );
    }
}
