//! `CosmosDriverRuntime`: configuration, the shared HTTP client and one driver per account.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sextant_core::models::AccountReference;
use sextant_core::{
    ConnectionPoolOptions, CosmosError, Driver, DriverOptions, DriverRegistry, EnvironmentConfig,
    Now, RuntimeOptions, SharedDriver,
};

use crate::client::HttpClient;
use crate::driver::CosmosDriver;
use crate::tls::client_config;

/// Prefix of the environment variables the runtime reads by default.
const ENV_PREFIX: &str = "AZURE_COSMOS_";

/// The entry point: holds the configuration, the connection pool and one [`CosmosDriver`] per
/// account endpoint. Cheap to clone (an `Arc` inside); share one per process.
#[derive(Debug, Clone)]
pub struct CosmosDriverRuntime {
    inner: Arc<RuntimeInner>,
}

#[derive(Debug)]
struct RuntimeInner {
    options: RuntimeOptions,
    client: Arc<HttpClient>,
    drivers: DriverRegistry<CosmosDriver>,
    seeds: AtomicU64,
}

impl CosmosDriverRuntime {
    /// A builder with default options; the environment (`AZURE_COSMOS_*`) is read at `build`.
    pub fn builder() -> CosmosDriverRuntimeBuilder {
        CosmosDriverRuntimeBuilder::default()
    }

    /// The driver for `account`'s endpoint, created on first use. `options` are layered over the
    /// runtime's driver options; they only apply when this call creates the driver. A later call
    /// for the same endpoint returns the existing driver; if `account` carries another
    /// credential, the driver signs with it from now on (key rotation, see
    /// [`CosmosDriver::rotate_credential`]).
    pub async fn get_or_create_driver(
        &self,
        account: AccountReference,
        options: Option<DriverOptions>,
    ) -> Result<CosmosDriver, CosmosError> {
        let inner = &self.inner;
        let endpoint = account.endpoint().to_string();
        let driver = inner.drivers.get_or_try_insert(&endpoint, || {
            let options = options
                .unwrap_or_default()
                .layered_over(&inner.options.driver_options);
            let seed = inner.options.seed.unwrap_or_else(|| inner.next_seed());
            let now = Now::new(Instant::now(), SystemTime::now());
            let driver = Driver::new(account.clone(), options, seed, now)?;
            Ok::<_, CosmosError>(CosmosDriver::new(
                account.clone(),
                SharedDriver::new(driver),
                Arc::clone(&inner.client),
            ))
        })?;
        // The same endpoint with another credential is a key rotation: the live driver signs
        // with the newest credential from now on (never silently the old one).
        driver.core().lock().set_credential(&account)?;
        Ok(driver)
    }

    /// The options in force (after the environment was applied).
    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.options
    }

    /// Idle connections currently kept in the pool (all hosts).
    pub fn idle_connections(&self) -> usize {
        self.inner.client.idle_connections()
    }
}

impl RuntimeInner {
    /// A fresh seed from process-local entropy (std's randomly keyed hasher), the clock and a
    /// counter, so drivers created in the same instant still differ.
    fn next_seed(&self) -> u64 {
        let n = self.seeds.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let mut h = RandomState::new().build_hasher();
        h.write_u64(nanos);
        h.write_u64(n);
        h.finish()
    }
}

/// Builds a [`CosmosDriverRuntime`].
#[derive(Debug, Clone, Default)]
pub struct CosmosDriverRuntimeBuilder {
    options: RuntimeOptions,
    environment: Option<BTreeMap<String, String>>,
}

impl CosmosDriverRuntimeBuilder {
    /// Driver options every driver of this runtime inherits.
    pub fn driver_options(mut self, o: DriverOptions) -> Self {
        self.options.driver_options = o;
        self
    }

    /// Connection pool settings (idle connections per host, idle timeout, connect timeout).
    pub fn connection_pool_options(mut self, o: ConnectionPoolOptions) -> Self {
        self.options.connection_pool = o;
        self
    }

    /// Accept the local emulator's self-signed certificate (never the default). Any certificate
    /// is then accepted, so use it only against a local emulator.
    pub fn emulator_server_cert_validation_disabled(mut self, yes: bool) -> Self {
        self.options.emulator_server_cert_validation_disabled = yes;
        self
    }

    /// Use this map instead of the process environment (tests); by default `build` reads the
    /// process's `AZURE_COSMOS_*` variables.
    pub fn environment(mut self, vars: BTreeMap<String, String>) -> Self {
        self.environment = Some(vars);
        self
    }

    /// Fixed RNG seed for deterministic runs (every driver uses it); random by default.
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = Some(seed);
        self
    }

    /// Applies the environment, validates the options and builds the runtime. A malformed
    /// environment value or pool option is an [`sextant_core::ErrorKind::Configuration`] error
    /// naming the setting.
    pub async fn build(self) -> Result<CosmosDriverRuntime, CosmosError> {
        let vars = self.environment.unwrap_or_else(|| {
            std::env::vars()
                .filter(|(k, _)| k.starts_with(ENV_PREFIX))
                .collect()
        });
        let env = EnvironmentConfig::from_map(&vars)?;
        let options = self.options.with_environment(&env);
        options.connection_pool.validate()?;
        let tls = client_config(options.emulator_server_cert_validation_disabled)?;
        let client = Arc::new(HttpClient::new(tls, &options.connection_pool));
        Ok(CosmosDriverRuntime {
            inner: Arc::new(RuntimeInner {
                options,
                client,
                drivers: DriverRegistry::default(),
                seeds: AtomicU64::new(0),
            }),
        })
    }
}
