//! Helpers every transport uses: a driver behind a mutex (held for microseconds, never across
//! I/O) and a registry with one driver per account.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::action::Action;
use crate::credential::{AccessToken, Credential, CredentialError};
use crate::drain::{Drained, Inputs, Turn};
use crate::driver::Driver;
use crate::error::ConfigError;
use crate::execution::Execution;
use crate::ids::AttemptId;
use crate::models::AccountReference;
use crate::now::Now;
use crate::operation::{CosmosOperation, OperationOptions};
use crate::options::{DriverOptions, RuntimeOptions};
use crate::transport::{RequestEvent, Response, TransportError};

/// A [`Driver`] shared by many concurrent operations. Each call locks, feeds or polls, and
/// unlocks; transports perform I/O only between calls.
#[derive(Debug, Clone)]
pub struct SharedDriver {
    inner: Arc<Mutex<Driver>>,
}

impl SharedDriver {
    /// Wraps a driver.
    pub fn new(driver: Driver) -> Self {
        SharedDriver {
            inner: Arc::new(Mutex::new(driver)),
        }
    }

    /// Locks the driver. A panic while locked cannot leave it inconsistent in a way that matters
    /// more than losing the whole client, so a poisoned lock is recovered rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, Driver> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an operation.
    pub fn start(&self, op: CosmosOperation, opts: OperationOptions, now: Now) -> Execution {
        self.lock().start(op, opts, now)
    }

    /// One turn of the drain contract under a single lock: feeds `inputs`, then polls until
    /// `Wait` or `Done` ([`Execution::turn`]). Perform `turn` with the lock released.
    pub fn turn(
        &self,
        exec: &mut Execution,
        inputs: &mut Inputs,
        now: Now,
        turn: &mut Turn,
    ) -> Drained {
        exec.turn(&mut self.lock(), inputs, now, turn)
    }

    /// Starts an operation and runs its first turn under the same lock.
    pub fn start_turn(
        &self,
        op: CosmosOperation,
        opts: OperationOptions,
        now: Now,
        turn: &mut Turn,
    ) -> (Execution, Drained) {
        // Not through `start_turn_of`: the closure would hold the operation and its options
        // (about 600 bytes) and move them once more.
        let mut d = self.lock();
        let mut exec = d.start(op, opts, now);
        let drained = exec.drain_turn(&mut d, now, turn);
        (exec, drained)
    }

    /// Starts the execution `start` returns (a bulk window, say) and runs its first turn under
    /// the same lock.
    pub fn start_turn_of(
        &self,
        start: impl FnOnce(&mut Driver) -> Execution,
        now: Now,
        turn: &mut Turn,
    ) -> (Execution, Drained) {
        let mut d = self.lock();
        let mut exec = start(&mut d);
        let drained = exec.drain_turn(&mut d, now, turn);
        (exec, drained)
    }

    /// Starts whatever `start` starts (a query page, say) and runs its first turn under the
    /// same lock; `None` when `start` has nothing to start.
    pub fn start_turn_with(
        &self,
        start: impl FnOnce(&mut Driver) -> Option<Execution>,
        now: Now,
        turn: &mut Turn,
    ) -> Option<(Execution, Drained)> {
        let mut d = self.lock();
        let mut exec = start(&mut d)?;
        let drained = exec.drain_turn(&mut d, now, turn);
        Some((exec, drained))
    }

    /// Polls an execution.
    pub fn poll(&self, exec: &mut Execution, now: Now) -> Action {
        exec.poll(&mut self.lock(), now)
    }

    /// Feeds a response.
    pub fn handle_response(
        &self,
        exec: &mut Execution,
        attempt: AttemptId,
        resp: Response,
        now: Now,
    ) {
        exec.handle_response(&mut self.lock(), attempt, resp, now)
    }

    /// Feeds a transport error.
    pub fn handle_transport_error(
        &self,
        exec: &mut Execution,
        attempt: AttemptId,
        err: TransportError,
        now: Now,
    ) {
        exec.handle_transport_error(&mut self.lock(), attempt, err, now)
    }

    /// Feeds an event.
    pub fn handle_event(
        &self,
        exec: &mut Execution,
        attempt: AttemptId,
        ev: RequestEvent,
        now: Now,
    ) {
        exec.handle_event(&mut self.lock(), attempt, ev, now)
    }

    /// Feeds a token result.
    pub fn handle_token(
        &self,
        exec: &mut Execution,
        token: Result<AccessToken, CredentialError>,
        now: Now,
    ) {
        exec.handle_token(&mut self.lock(), token, now)
    }

    /// After `Done`: the diagnostics line to log, if thresholds and the rate limiter allow.
    pub fn diagnostics_log_line(&self, exec: &Execution, now: Now) -> Option<String> {
        exec.diagnostics_log_line(&mut self.lock(), now)
    }

    /// Cancels an execution (for example when the caller's future is dropped).
    pub fn cancel(&self, exec: &mut Execution, now: Now) {
        exec.cancel(&mut self.lock(), now)
    }
}

/// One value per account endpoint (`get_or_create_driver` returns the existing driver).
#[derive(Debug)]
pub struct DriverRegistry<T> {
    map: Mutex<BTreeMap<String, T>>,
}

impl<T> Default for DriverRegistry<T> {
    fn default() -> Self {
        DriverRegistry {
            map: Mutex::new(BTreeMap::new()),
        }
    }
}

/// A transport's driver handle: it wraps the [`SharedDriver`] of one account.
pub trait DriverHandle: Clone {
    /// The shared sans-IO driver underneath.
    fn shared(&self) -> &SharedDriver;
}

impl<T: DriverHandle> DriverRegistry<T> {
    /// `get_or_create_driver`, written once for every transport: the driver for `account`'s
    /// endpoint, created on first use with `options` layered over `runtime`'s driver options
    /// (options carrying a connection pool other than the runtime's are refused: the pool is
    /// the runtime's),
    /// `runtime`'s fixed seed or `seed()` (the transport's entropy), and `wrap` to build the
    /// transport's handle. A later call for the same endpoint returns the existing driver;
    /// if `account` carries another credential the driver signs with it from now on (key
    /// rotation, [`Driver::set_credential`]), never silently keeping the old one.
    ///
    /// Resource tokens are refused: they belong to one user, and sharing the endpoint's driver
    /// would make one user's requests sign with another's tokens (or the account key). A
    /// resource-token account gets a driver of its own from [`DriverRegistry::create`].
    pub fn get_or_create(
        &self,
        account: &AccountReference,
        options: Option<DriverOptions>,
        runtime: &RuntimeOptions,
        seed: impl FnOnce() -> u64,
        now: Now,
        wrap: impl FnOnce(AccountReference, SharedDriver) -> T,
    ) -> Result<T, ConfigError> {
        if matches!(account.credential(), Credential::ResourceTokens(_)) {
            return Err(ConfigError::InvalidCredential {
                reason: format!(
                    "resource tokens belong to one user, so {} cannot share the endpoint's \
                     driver: create one with create_driver",
                    account.endpoint()
                ),
            });
        }
        let handle = self.get_or_try_insert(account.endpoint(), || {
            Self::create(account, options, runtime, seed, now, wrap)
        })?;
        handle.shared().lock().set_credential(account)?;
        Ok(handle)
    }

    /// `create_driver`: a driver for `account` that is not registered (not shared with other
    /// callers of the same endpoint), built like [`DriverRegistry::get_or_create`] builds one.
    /// The way to use resource tokens: one driver per user, dropped with it.
    pub fn create(
        account: &AccountReference,
        options: Option<DriverOptions>,
        runtime: &RuntimeOptions,
        seed: impl FnOnce() -> u64,
        now: Now,
        wrap: impl FnOnce(AccountReference, SharedDriver) -> T,
    ) -> Result<T, ConfigError> {
        let options = options.unwrap_or_default();
        // One pool serves every driver of the runtime: a driver cannot have its own.
        if let Some(pool) = &options.connection_pool {
            let shared = runtime.effective_connection_pool();
            if *pool != shared {
                return Err(ConfigError::InvalidSetting {
                    name: "connection_pool_options".into(),
                    value: format!("{pool:?}"),
                    expected: format!(
                        "the runtime's pool ({shared:?}): a runtime's drivers share one \
                         connection pool, set it on the runtime builder"
                    ),
                });
            }
        }
        let options = options.layered_over(&runtime.driver_options);
        let seed = runtime.seed.unwrap_or_else(seed);
        let driver = Driver::new(account.clone(), options, seed, now)?;
        Ok(wrap(account.clone(), SharedDriver::new(driver)))
    }
}

impl<T: Clone> DriverRegistry<T> {
    /// The value for `endpoint`, created with `make` on first use. `make` runs under the
    /// registry lock, so it must be cheap and must not block.
    pub fn get_or_try_insert<E>(
        &self,
        endpoint: &str,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = map.get(endpoint) {
            return Ok(v.clone());
        }
        let v = make()?;
        map.insert(endpoint.to_string(), v.clone());
        Ok(v)
    }

    /// Number of accounts registered.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no driver was created yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ConnectionPoolOptions;
    use std::time::{Duration, Instant, SystemTime};

    #[derive(Clone)]
    struct Handle(SharedDriver);

    impl DriverHandle for Handle {
        fn shared(&self) -> &SharedDriver {
            &self.0
        }
    }

    const KEY: &str =
        "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

    #[allow(clippy::disallowed_methods)] // the test plays the transport: it reads the clock
    fn now() -> Now {
        Now::new(Instant::now(), SystemTime::UNIX_EPOCH)
    }

    fn create(
        registry: &DriverRegistry<Handle>,
        endpoint: &str,
        options: DriverOptions,
        runtime: &RuntimeOptions,
    ) -> Result<Handle, ConfigError> {
        let account = AccountReference::with_master_key(endpoint, KEY).unwrap();
        registry.get_or_create(
            &account,
            Some(options),
            runtime,
            || 1,
            now(),
            |_, shared| Handle(shared),
        )
    }

    #[test]
    fn a_driver_cannot_have_its_own_connection_pool() {
        let runtime = RuntimeOptions::default().resolve(&BTreeMap::new()).unwrap();
        let registry = DriverRegistry::default();
        let other = ConnectionPoolOptions::builder()
            .max_idle_connections_per_host(20)
            .build()
            .unwrap();
        let with_pool = |p: ConnectionPoolOptions| {
            DriverOptions::builder()
                .connection_pool_options(p)
                .build()
                .unwrap()
        };
        let e = create(&registry, "https://a.example/", with_pool(other), &runtime)
            .err()
            .expect("a different pool is refused");
        assert!(e.to_string().contains("connection_pool_options"), "{e}");
        assert!(registry.is_empty());
        // The runtime's own pool (e.g. the same DriverOptions reused) is accepted.
        let same = runtime.effective_connection_pool();
        assert!(create(&registry, "https://b.example/", with_pool(same), &runtime).is_ok());
        // Other driver-level options are untouched by the check.
        let timeout = DriverOptions::builder()
            .request_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        assert!(create(&registry, "https://c.example/", timeout, &runtime).is_ok());
    }
}
