//! `CosmosDriverRuntime`: configuration, the shared HTTP client and one driver per account.

use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, DriverOptions, DriverRegistry, RuntimeOptions};

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

    /// The options in force, after the environment was applied.
    pub fn runtime_options(&self) -> &RuntimeOptions {
        &self.inner.options
    }

    /// Idle connections currently kept in the pool (all hosts).
    pub fn idle_connections(&self) -> usize {
        self.inner.client.idle_connections()
    }
}

sextant_host::runtime_builder!(CosmosDriverRuntime);

impl CosmosDriverRuntimeBuilder {
    /// Applies the environment, validates the options and builds the runtime. A malformed
    /// environment value or pool option is an [`sextant_core::ErrorKind::Configuration`] error
    /// naming the setting.
    pub async fn build(self) -> Result<CosmosDriverRuntime, CosmosError> {
        let options = self.resolve()?;
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
