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

/// HTTP connection pool settings (seed spec `ConnectionPoolOptions`). One pool belongs to a
/// runtime and is shared by every driver it creates.
///
/// Set on the runtime: the runtime builder's `connection_pool_options(..)`, or (the seed's
/// form) [`DriverOptionsBuilder::connection_pool_options`](crate::options::DriverOptionsBuilder::connection_pool_options)
/// in the runtime's driver options. A value set either way is complete and replaces the
/// `AZURE_COSMOS_CONNECTION_POOL_*` environment variables whole; when none is set, each field
/// comes from its variable or its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPoolOptions {
    /// Idle connections kept per host. Default 10, the seed's (the official Rust driver keeps
    /// 1000 per endpoint for its HTTP/2 shards; Sextant's clients pool HTTP/1.1 connections).
    /// At most 10000. Environment: `AZURE_COSMOS_CONNECTION_POOL_MAX_IDLE_CONNECTIONS_PER_ENDPOINT`.
    pub max_idle_connections_per_host: usize,
    /// How long an idle connection is kept. Default 90 s, the seed's (and hyper's pool
    /// default). At most 24 h. Environment: `AZURE_COSMOS_CONNECTION_POOL_IDLE_CONNECTION_TIMEOUT_MS`.
    pub idle_timeout: Duration,
    /// Connect (TCP + TLS) timeout. Default 5 s: the official Rust driver's
    /// `AZURE_COSMOS_CONNECTION_POOL_MAX_CONNECT_TIMEOUT_MS` default (not a seed field). More
    /// than 0 and at most 300 s. Environment: that same variable.
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
    /// A builder starting from the defaults.
    pub fn builder() -> ConnectionPoolOptionsBuilder {
        ConnectionPoolOptionsBuilder::default()
    }

    /// Checks the values are in range; an error names the field and its accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_idle_connections_per_host > 10_000 {
            return Err(ConfigError::InvalidSetting {
                name: "max_idle_connections_per_host".into(),
                value: self.max_idle_connections_per_host.to_string(),
                expected: "at most 10000".into(),
            });
        }
        if self.idle_timeout > Duration::from_secs(24 * 3600) {
            return Err(ConfigError::InvalidSetting {
                name: "idle_timeout".into(),
                value: format!("{:?}", self.idle_timeout),
                expected: "at most 24 hours".into(),
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

/// Builder for [`ConnectionPoolOptions`] (seed spec `ConnectionPoolOptionsBuilder`).
#[derive(Debug, Clone, Default)]
pub struct ConnectionPoolOptionsBuilder {
    o: ConnectionPoolOptions,
}

impl ConnectionPoolOptionsBuilder {
    /// Idle connections kept per host (default 10, at most 10000).
    pub fn max_idle_connections_per_host(mut self, n: usize) -> Self {
        self.o.max_idle_connections_per_host = n;
        self
    }

    /// How long an idle connection is kept (default 90 s, at most 24 h).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.o.idle_timeout = d;
        self
    }

    /// Connect (TCP + TLS) timeout (default 5 s; more than 0 and at most 300 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.o.connect_timeout = d;
        self
    }

    /// Checks the values are in range ([`ConnectionPoolOptions::validate`]).
    pub fn build(self) -> Result<ConnectionPoolOptions, ConfigError> {
        self.o.validate()?;
        Ok(self.o)
    }
}

/// Everything a transport runtime is configured with, after the environment is applied.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Runtime-level driver options (each driver layers its own over these).
    pub driver_options: DriverOptions,
    /// Connection pool settings set on the runtime builder (`connection_pool_options(..)`).
    /// `None` takes them from `driver_options`' `connection_pool_options`, else from the
    /// environment and the defaults. After [`RuntimeOptions::resolve`] this is always the pool
    /// in force; read it with [`RuntimeOptions::effective_connection_pool`].
    pub connection_pool: Option<ConnectionPoolOptions>,
    /// Accept the local emulator's self-signed certificate. Never on by default; on when set
    /// here or by `AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED=true`.
    pub emulator_server_cert_validation_disabled: bool,
    /// Fixed RNG seed for every driver (deterministic replays); random when unset, unless
    /// `AZURE_COSMOS_SEED` sets one.
    pub seed: Option<u64>,
}

impl RuntimeOptions {
    /// What every transport's `build()` does before it builds its HTTP client: parse the
    /// `AZURE_COSMOS_*` variables (`environment`, read by the transport), apply them under the
    /// explicit settings, and validate the connection pool. Errors name the variable or
    /// setting. A pool set both on the runtime builder and in the runtime's driver options, to
    /// two different values, is an error rather than a silent choice.
    pub fn resolve(
        self,
        environment: &std::collections::BTreeMap<String, String>,
    ) -> Result<RuntimeOptions, ConfigError> {
        let env = EnvironmentConfig::from_map(environment)?;
        if let (Some(runtime), Some(driver)) =
            (&self.connection_pool, &self.driver_options.connection_pool)
        {
            if runtime != driver {
                return Err(ConfigError::InvalidSetting {
                    name: "connection_pool_options".into(),
                    value: format!("{runtime:?} and {driver:?}"),
                    expected: "one value: set on the runtime builder or in the runtime's \
                               DriverOptions, not two different ones"
                        .into(),
                });
            }
        }
        let resolved = self.with_environment(&env);
        resolved.effective_connection_pool().validate()?;
        Ok(resolved)
    }

    /// Applies the environment under the explicit settings, each the lowest layer: an explicit
    /// `true` for the emulator certificate wins (otherwise the environment decides); driver
    /// settings the runtime's driver options leave unset come from the environment
    /// ([`DriverOptions::with_environment`]); the pool is the runtime builder's, else the
    /// runtime driver options', else the environment's fields over the defaults; the seed is
    /// the builder's, else `AZURE_COSMOS_SEED`.
    pub fn with_environment(mut self, env: &EnvironmentConfig) -> Self {
        self.emulator_server_cert_validation_disabled |= env.emulator_cert_validation_disabled;
        let pool = self
            .connection_pool
            .take()
            .or_else(|| self.driver_options.connection_pool.clone())
            .unwrap_or_else(|| env.connection_pool());
        self.connection_pool = Some(pool);
        self.driver_options = self.driver_options.with_environment(env);
        self.seed = self.seed.or(env.seed);
        self
    }

    /// The connection pool in force: the one set (or resolved), else the defaults.
    pub fn effective_connection_pool(&self) -> ConnectionPoolOptions {
        self.connection_pool
            .clone()
            .or_else(|| self.driver_options.connection_pool.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::environment::{
        ENV_CONNECT_TIMEOUT_MS, ENV_IDLE_TIMEOUT_MS, ENV_MAX_IDLE_CONNECTIONS_PER_HOST,
        ENV_REQUEST_TIMEOUT_MS, ENV_SEED,
    };
    use std::collections::BTreeMap;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pool(n: usize, idle_secs: u64) -> ConnectionPoolOptions {
        ConnectionPoolOptions::builder()
            .max_idle_connections_per_host(n)
            .idle_timeout(Duration::from_secs(idle_secs))
            .build()
            .unwrap()
    }

    #[test]
    fn builder_defaults_values_and_errors() {
        assert_eq!(
            ConnectionPoolOptions::builder().build().unwrap(),
            ConnectionPoolOptions::default()
        );
        let p = ConnectionPoolOptions::builder()
            .max_idle_connections_per_host(20)
            .idle_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        assert_eq!(
            p,
            ConnectionPoolOptions {
                max_idle_connections_per_host: 20,
                idle_timeout: Duration::from_secs(30),
                connect_timeout: Duration::from_secs(2),
            }
        );
        for (b, field) in [
            (
                ConnectionPoolOptions::builder().max_idle_connections_per_host(10_001),
                "max_idle_connections_per_host",
            ),
            (
                ConnectionPoolOptions::builder().idle_timeout(Duration::from_secs(25 * 3600)),
                "idle_timeout",
            ),
            (
                ConnectionPoolOptions::builder().connect_timeout(Duration::ZERO),
                "connect_timeout",
            ),
        ] {
            let e = b.build().unwrap_err();
            assert!(e.to_string().contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn pool_comes_from_the_environment_unless_set() {
        let env = vars(&[
            (ENV_MAX_IDLE_CONNECTIONS_PER_HOST, "33"),
            (ENV_IDLE_TIMEOUT_MS, "15000"),
            (ENV_CONNECT_TIMEOUT_MS, "2500"),
        ]);
        let r = RuntimeOptions::default().resolve(&env).unwrap();
        assert_eq!(
            r.effective_connection_pool(),
            ConnectionPoolOptions {
                max_idle_connections_per_host: 33,
                idle_timeout: Duration::from_secs(15),
                connect_timeout: Duration::from_millis(2500),
            }
        );
        // Set on the runtime builder: the explicit pool wins, whole.
        let r = RuntimeOptions {
            connection_pool: Some(pool(20, 90)),
            ..RuntimeOptions::default()
        }
        .resolve(&env)
        .unwrap();
        assert_eq!(r.effective_connection_pool(), pool(20, 90));
        // The seed's form, in the runtime's driver options: the same.
        let r = RuntimeOptions {
            driver_options: DriverOptions::builder()
                .connection_pool_options(pool(20, 90))
                .build()
                .unwrap(),
            ..RuntimeOptions::default()
        }
        .resolve(&env)
        .unwrap();
        assert_eq!(r.connection_pool, Some(pool(20, 90)));
    }

    #[test]
    fn two_different_runtime_pools_are_an_error() {
        let both = |a, b| RuntimeOptions {
            connection_pool: Some(a),
            driver_options: DriverOptions::builder()
                .connection_pool_options(b)
                .build()
                .unwrap(),
            ..RuntimeOptions::default()
        };
        let e = both(pool(20, 90), pool(30, 90))
            .resolve(&BTreeMap::new())
            .unwrap_err();
        assert!(e.to_string().contains("connection_pool_options"), "{e}");
        assert!(both(pool(20, 90), pool(20, 90))
            .resolve(&BTreeMap::new())
            .is_ok());
    }

    #[test]
    fn runtime_resolution_applies_the_environment_under_explicit_settings() {
        let env = vars(&[(ENV_REQUEST_TIMEOUT_MS, "1500"), (ENV_SEED, "99")]);
        let r = RuntimeOptions::default().resolve(&env).unwrap();
        assert_eq!(
            r.driver_options.resolve().request_timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(r.seed, Some(99));
        let r = RuntimeOptions {
            driver_options: DriverOptions::builder()
                .request_timeout(Duration::from_secs(4))
                .build()
                .unwrap(),
            seed: Some(1),
            ..RuntimeOptions::default()
        }
        .resolve(&env)
        .unwrap();
        assert_eq!(
            r.driver_options.resolve().request_timeout,
            Duration::from_secs(4)
        );
        assert_eq!(r.seed, Some(1));
        // A malformed variable fails resolution, naming it.
        let e = RuntimeOptions::default()
            .resolve(&vars(&[(ENV_CONNECT_TIMEOUT_MS, "0")]))
            .unwrap_err();
        assert!(e.to_string().contains(ENV_CONNECT_TIMEOUT_MS), "{e}");
    }
}
