//! `CosmosDriverRuntime`: configuration, the shared HTTP client and one driver per account.

use std::collections::BTreeMap;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{
    ConnectionPoolOptions, CosmosError, DriverOptions, DriverRegistry, RuntimeOptions,
};

use crate::client::HttpClient;
use crate::driver::CosmosDriver;
use crate::tls::client_config;

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
        Ok(inner.drivers.get_or_create(
            &account,
            options,
            &inner.options,
            sextant_host::fresh_seed,
            sextant_host::now(),
            |account, shared| CosmosDriver::new(account, shared, Arc::clone(&inner.client)),
        )?)
    }

    /// A driver of its own for `account`, not shared with other callers of the endpoint (it
    /// shares only the runtime's connections): the way to use resource tokens, which belong to
    /// one user (`get_or_create_driver` refuses them). Drop it when the user is done; rotate
    /// its tokens with `rotate_credential`.
    pub async fn create_driver(
        &self,
        account: AccountReference,
        options: Option<DriverOptions>,
    ) -> Result<CosmosDriver, CosmosError> {
        let inner = &self.inner;
        Ok(sextant_core::DriverRegistry::create(
            &account,
            options,
            &inner.options,
            sextant_host::fresh_seed,
            sextant_host::now(),
            |account, shared| CosmosDriver::new(account, shared, Arc::clone(&inner.client)),
        )?)
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

    /// Connection pool settings: idle connections per host, idle timeout, connect timeout
    /// (build them with `ConnectionPoolOptions::builder()`). The same setting as
    /// `DriverOptionsBuilder::connection_pool_options` in [`driver_options`](Self::driver_options)
    /// (the seed's form); setting both to different values fails `build`. When neither is set,
    /// each field comes from its `AZURE_COSMOS_CONNECTION_POOL_*` variable or its default.
    pub fn connection_pool_options(mut self, o: ConnectionPoolOptions) -> Self {
        self.options.connection_pool = Some(o);
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
        let vars = self
            .environment
            .unwrap_or_else(sextant_host::process_environment);
        let options = self.options.resolve(&vars)?;
        let tls = client_config(options.emulator_server_cert_validation_disabled)?;
        let client = Arc::new(HttpClient::new(tls, &options.effective_connection_pool()));
        Ok(CosmosDriverRuntime {
            inner: Arc::new(RuntimeInner {
                options,
                client,
                drivers: DriverRegistry::default(),
            }),
        })
    }
}
