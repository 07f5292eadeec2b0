//! `CosmosDriverRuntime`: the HTTP client, the runtime options and one driver per account.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{ConfigError, CosmosError, DriverOptions, DriverRegistry, RuntimeOptions};

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

sextant_host::runtime_builder!(CosmosDriverRuntime);

impl CosmosDriverRuntimeBuilder {
    /// Validates the settings, applies the environment and builds the HTTP client.
    ///
    /// Fails with [`sextant_core::ErrorKind::Configuration`] for a malformed `AZURE_COSMOS_*`
    /// value (naming the variable) or out-of-range pool options.
    pub async fn build(self) -> Result<CosmosDriverRuntime, CosmosError> {
        let options = self.resolve()?;
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
