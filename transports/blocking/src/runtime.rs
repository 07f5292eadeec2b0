//! `CosmosDriverRuntime`: the HTTP client, the options and one driver per account.

use std::fmt;
use std::sync::Arc;

use sextant_core::models::AccountReference;
use sextant_core::{CosmosError, DriverOptions, DriverRegistry, RuntimeOptions};

use crate::client::HttpClient;
use crate::driver::CosmosDriver;
use crate::workers::Workers;

/// Owns the HTTP client (one connection pool) and a driver per account. Cheap to clone;
/// `Send + Sync`. Create one per process and share it.
#[derive(Clone)]
pub struct CosmosDriverRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    options: RuntimeOptions,
    client: HttpClient,
    workers: Workers,
    drivers: DriverRegistry<CosmosDriver>,
}

impl CosmosDriverRuntime {
    /// A builder with default options; the environment is read when it is built.
    pub fn builder() -> CosmosDriverRuntimeBuilder {
        CosmosDriverRuntimeBuilder::default()
    }

    /// The driver for `account`, created on first use. Later calls for the same endpoint return
    /// the same driver (sharing its metadata and connections) and ignore `options`; if
    /// `account` carries another credential, the driver signs with it from now on (key
    /// rotation, see [`CosmosDriver::rotate_credential`]).
    ///
    /// `options` are layered over the runtime's driver options: what they leave unset is
    /// inherited. Creating a driver does no I/O; the account is read on the first operation.
    pub fn get_or_create_driver(
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
            |account, shared| {
                CosmosDriver::new(account, shared, inner.client.clone(), inner.workers.clone())
            },
        )?)
    }

    /// A driver of its own for `account`, not shared with other callers of the endpoint (it
    /// shares only the runtime's connections): the way to use resource tokens, which belong to
    /// one user (`get_or_create_driver` refuses them). Drop it when the user is done; rotate
    /// its tokens with `rotate_credential`.
    pub fn create_driver(
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
            |account, shared| {
                CosmosDriver::new(account, shared, inner.client.clone(), inner.workers.clone())
            },
        )?)
    }

    /// The options in force, after the environment was applied.
    pub fn runtime_options(&self) -> &RuntimeOptions {
        &self.inner.options
    }
}

impl fmt::Debug for CosmosDriverRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosmosDriverRuntime")
            .field("options", &self.inner.options)
            .field("drivers", &self.inner.drivers.len())
            .finish_non_exhaustive()
    }
}

sextant_host::runtime_builder!(CosmosDriverRuntime);

impl CosmosDriverRuntimeBuilder {
    /// Builds the runtime. Fails with a configuration error naming the setting when an
    /// `AZURE_COSMOS_*` variable or a pool option is out of range.
    pub fn build(self) -> Result<CosmosDriverRuntime, CosmosError> {
        let options = self.resolve()?;
        let client = HttpClient::new(
            &options.effective_connection_pool(),
            options.emulator_server_cert_validation_disabled,
            Some(options.driver_options.effective_request_timeout()),
        );
        Ok(CosmosDriverRuntime {
            inner: Arc::new(RuntimeInner {
                options,
                client,
                workers: Workers::default(),
                drivers: DriverRegistry::default(),
            }),
        })
    }
}
