//! `AZURE_COSMOS_*` environment variables, parsed from a map the transport passes in.

use std::collections::BTreeMap;

use crate::error::ConfigError;

/// Accepts the local emulator's self-signed certificate when `true`. Same name as the official
/// SDKs use for the emulator.
pub const ENV_EMULATOR_CERT_VALIDATION_DISABLED: &str =
    "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED";
/// Summary diagnostics size cap in bytes (seed spec: default 8 KiB, minimum 4 KiB).
pub const ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES: &str =
    "AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES";

/// Minimum summary diagnostics size (seed spec).
pub const MIN_SUMMARY_SIZE_BYTES: usize = 4 * 1024;

/// Settings read from the environment. Unknown `AZURE_COSMOS_*` variables are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// `AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED`.
    pub emulator_cert_validation_disabled: bool,
    /// `AZURE_COSMOS_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES`.
    pub diagnostics_max_summary_size_bytes: Option<usize>,
}

impl EnvironmentConfig {
    /// Parses the variables from `vars` (the transport collects `std::env::vars()`; tests pass a
    /// literal map). A malformed value is an error naming the variable and the accepted form.
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut cfg = EnvironmentConfig::default();
        if let Some(v) = vars.get(ENV_EMULATOR_CERT_VALIDATION_DISABLED) {
            cfg.emulator_cert_validation_disabled =
                parse_bool(ENV_EMULATOR_CERT_VALIDATION_DISABLED, v)?;
        }
        if let Some(v) = vars.get(ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES) {
            let n: usize = v
                .trim()
                .parse()
                .map_err(|_| invalid(ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES, v))?;
            if n < MIN_SUMMARY_SIZE_BYTES {
                return Err(invalid(ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES, v));
            }
            cfg.diagnostics_max_summary_size_bytes = Some(n);
        }
        Ok(cfg)
    }
}

fn invalid(name: &str, value: &str) -> ConfigError {
    let expected = match name {
        ENV_DIAGNOSTICS_MAX_SUMMARY_SIZE_BYTES => "an integer number of bytes, at least 4096",
        _ => "true or false",
    };
    ConfigError::InvalidSetting {
        name: name.into(),
        value: crate::redact::redact(value),
        expected: expected.into(),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(invalid(name, value)),
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

    #[test]
    fn defaults_when_unset() {
        assert_eq!(
            EnvironmentConfig::from_map(&map(&[])).unwrap(),
            EnvironmentConfig::default()
        );
    }

    #[test]
    fn parses_and_rejects_with_the_variable_name() {
        let c =
            EnvironmentConfig::from_map(&map(&[(ENV_EMULATOR_CERT_VALIDATION_DISABLED, "TRUE")]))
                .unwrap();
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
}
