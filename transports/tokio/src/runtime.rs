//! `CosmosDriverRuntime`: the HTTP client, the runtime options and one driver per account.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{
    ConfigError, ConnectionPoolOptions, CosmosError, DriverOptions, DriverRegistry, RuntimeOptions,
};

use crate::client::build_client;
use crate::driver::CosmosDriver;

/// The entry point: shares one connection pool among the drivers it creates (one per account).
///
/// Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct CosmosDriverRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    options: RuntimeOptions,
    client: reqwest::Client,
    drivers: DriverRegistry<CosmosDriver>,
}

impl fmt::Debug for CosmosDriverRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriverRuntime")
            .field("options", &self.inner.options)
            .field("drivers", &self.inner.drivers.len())
            .finish_non_exhaustive()
    }
}

impl CosmosDriverRuntime {
    /// A builder with the defaults (environment read from the process).
    pub fn builder() -> CosmosDriverRuntimeBuilder {
        CosmosDriverRuntimeBuilder::default()
    }

    /// The options in force, after the environment was applied.
    pub fn runtime_options(&self) -> &RuntimeOptions {
        &self.inner.options
    }

    /// The driver for `account`, created on first use. Later calls for the same endpoint return
    /// the existing driver and ignore `options`; if `account` carries another credential, the
    /// driver signs with it from now on (key rotation, see [`CosmosDriver::rotate_credential`]). The driver's options are `options` layered over
    /// the runtime's driver options.
    pub async fn get_or_create_driver(
        &self,
        account: AccountReference,
        options: Option<DriverOptions>,
    ) -> Result<CosmosDriver, CosmosError> {
        let inner = &self.inner;
        let client = &inner.client;
        Ok(inner.drivers.get_or_create(
            &account,
            options,
            &inner.options,
            sextant_host::fresh_seed,
            sextant_host::now(),
            |account, shared| CosmosDriver::new(shared, account, client.clone()),
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
        let client = &inner.client;
        Ok(sextant_core::DriverRegistry::create(
            &account,
            options,
            &inner.options,
            sextant_host::fresh_seed,
            sextant_host::now(),
            |account, shared| CosmosDriver::new(shared, account, client.clone()),
        )?)
    }
}

/// Builder for [`CosmosDriverRuntime`].
#[derive(Debug, Clone, Default)]
pub struct CosmosDriverRuntimeBuilder {
    driver_options: DriverOptions,
    connection_pool: Option<ConnectionPoolOptions>,
    emulator_server_cert_validation_disabled: bool,
    environment: Option<BTreeMap<String, String>>,
    seed: Option<u64>,
}

impl CosmosDriverRuntimeBuilder {
    /// Driver options every driver of this runtime inherits.
    pub fn driver_options(mut self, o: DriverOptions) -> Self {
        self.driver_options = o;
        self
    }

    /// Connection pool settings: idle connections per host, idle timeout, connect timeout
    /// (build them with `ConnectionPoolOptions::builder()`). The same setting as
    /// `DriverOptionsBuilder::connection_pool_options` in [`driver_options`](Self::driver_options)
    /// (the seed's form); setting both to different values fails `build`. When neither is set,
    /// each field comes from its `AZURE_COSMOS_CONNECTION_POOL_*` variable or its default.
    pub fn connection_pool_options(mut self, o: ConnectionPoolOptions) -> Self {
        self.connection_pool = Some(o);
        self
    }

    /// Accept the local emulator's self-signed certificate (never the default). This accepts
    /// ANY server certificate: use it only against a local emulator.
    pub fn emulator_server_cert_validation_disabled(mut self, yes: bool) -> Self {
        self.emulator_server_cert_validation_disabled = yes;
        self
    }

    /// Use this map instead of the process environment (tests); by default the process's
    /// `AZURE_COSMOS_*` variables are read.
    pub fn environment(mut self, vars: BTreeMap<String, String>) -> Self {
        self.environment = Some(vars);
        self
    }

    /// Fixed RNG seed for every driver (deterministic runs); by default each driver gets a seed
    /// derived from the clock, a counter and process-random keys.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Validates the settings, applies the environment and builds the HTTP client.
    ///
    /// Fails with [`sextant_core::ErrorKind::Configuration`] for a malformed `AZURE_COSMOS_*`
    /// value (naming the variable) or out-of-range pool options.
    pub async fn build(self) -> Result<CosmosDriverRuntime, CosmosError> {
        let vars = self
            .environment
            .unwrap_or_else(sextant_host::process_environment);
        let options = RuntimeOptions {
            driver_options: self.driver_options,
            connection_pool: self.connection_pool,
            emulator_server_cert_validation_disabled: self.emulator_server_cert_validation_disabled,
            seed: self.seed,
        }
        .resolve(&vars)?;
        let client = build_client(
            &options.effective_connection_pool(),
            options.emulator_server_cert_validation_disabled,
        )
        .map_err(|e| ConfigError::InvalidSetting {
            name: "HTTP client".into(),
            value: e.to_string(),
            expected: "a configuration reqwest can build".into(),
        })?;
        Ok(CosmosDriverRuntime {
            inner: Arc::new(RuntimeInner {
                options,
                client,
                drivers: DriverRegistry::default(),
            }),
        })
    }
}
