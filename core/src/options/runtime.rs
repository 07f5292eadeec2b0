//! Runtime-level options shared by every transport: connection pool and TLS settings.

use std::time::Duration;

use crate::error::ConfigError;
use crate::options::environment::EnvironmentConfig;
use crate::options::DriverOptions;

/// Idle pooled connections kept per host. Precedent: seed spec `ConnectionPoolOptions`
/// `max_idle_connections_per_host` default 10.
pub const DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST: usize = 10;
/// Idle connections are closed after this. Precedent: seed spec `idle_timeout` default 90 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP + TLS connect timeout. Precedent: the official Rust driver's 5 s connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// HTTP connection pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPoolOptions {
    /// Idle connections kept per host (default 10).
    pub max_idle_connections_per_host: usize,
    /// How long an idle connection is kept (default 90 s).
    pub idle_timeout: Duration,
    /// Connect (TCP + TLS) timeout (default 5 s).
    pub connect_timeout: Duration,
}

impl Default for ConnectionPoolOptions {
    fn default() -> Self {
        ConnectionPoolOptions {
            max_idle_connections_per_host: DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl ConnectionPoolOptions {
    /// Checks the values are in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_idle_connections_per_host > 10_000 {
            return Err(ConfigError::InvalidSetting {
                name: "max_idle_connections_per_host".into(),
                value: self.max_idle_connections_per_host.to_string(),
                expected: "at most 10000".into(),
            });
        }
        if self.connect_timeout.is_zero() || self.connect_timeout > Duration::from_secs(300) {
            return Err(ConfigError::InvalidSetting {
                name: "connect_timeout".into(),
                value: format!("{:?}", self.connect_timeout),
                expected: "more than 0 and at most 300 s".into(),
            });
        }
        Ok(())
    }
}

/// Everything a transport runtime is configured with, after the environment is applied.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Runtime-level driver options (each driver layers its own over these).
    pub driver_options: DriverOptions,
    /// Connection pool settings.
    pub connection_pool: ConnectionPoolOptions,
    /// Accept the local emulator's self-signed certificate. Never on by default; on when set
    /// here or by `AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED=true`.
    pub emulator_server_cert_validation_disabled: bool,
    /// Fixed RNG seed for every driver (deterministic replays); random when unset.
    pub seed: Option<u64>,
}

impl RuntimeOptions {
    /// What every transport's `build()` does before it builds its HTTP client: parse the
    /// `AZURE_COSMOS_*` variables (`environment`, read by the transport), validate the pool
    /// options, and apply the environment under the explicit settings. Errors name the variable
    /// or setting.
    pub fn resolve(
        self,
        environment: &std::collections::BTreeMap<String, String>,
    ) -> Result<RuntimeOptions, ConfigError> {
        let env = EnvironmentConfig::from_map(environment)?;
        self.connection_pool.validate()?;
        Ok(self.with_environment(&env))
    }

    /// Applies the environment under the explicit settings: an explicit `true` wins; otherwise
    /// the environment decides.
    pub fn with_environment(mut self, env: &EnvironmentConfig) -> Self {
        self.emulator_server_cert_validation_disabled |= env.emulator_cert_validation_disabled;
        self.driver_options = self.driver_options.with_environment(env);
        self
    }
}
