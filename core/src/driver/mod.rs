//! `Driver`: per-account state shared by every execution, one type per concern: the account
//! metadata (`driver/metadata.rs`), the Entra ID token (`driver/token.rs`), regions
//! ([`crate::regions::LocationCache`]), container routing ([`crate::routing::ContainerCache`]),
//! session tokens, the circuit breaker, leases (`leases.rs`), metrics and the RNG.

mod date;
mod header_templates;
mod header_values;
mod metadata;
mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;

use crate::credential::{AccessToken, Credential, CredentialError, TokenCredential};
use crate::diagnostics::LogRateLimiter;
use crate::error::ConfigError;
use crate::ids::AttemptId;
use crate::leases::Leases;
use crate::metrics::{Alert, Metrics, MetricsSnapshot};
use crate::models::{AccountProperties, AccountReference};
use crate::now::Now;
use crate::options::driver_options::EffectiveOptions;
use crate::options::DriverOptions;
use crate::policy::BudgetLimits;
use crate::regions::{LocationCache, PartitionCircuitBreaker};
use crate::rng::DetRng;
use crate::routing::ContainerCache;
use crate::session::SessionContainer;

/// The `user-agent` every request sends, before the caller's suffix (if any).
const USER_AGENT: &str = concat!("sextant/", env!("CARGO_PKG_VERSION"), " (sans-io core)");

/// How often an execution waiting on another's metadata fetch or token acquisition re-checks.
pub const LEASE_RECHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Refresh an Entra ID token this long before it expires, without blocking requests while the
/// old one is still valid. Precedent: Azure.Core `BearerTokenAuthenticationPolicy` refreshes 5 min
/// before expiry.
pub const TOKEN_REFRESH_OFFSET: Duration = Duration::from_secs(300);
pub use token::FALLBACK_AAD_SCOPE;

pub(crate) use date::{http_date, DateCache};
pub(crate) use header_templates::{HeaderTemplates, Shape, Sink as HeaderSink};
pub(crate) use header_values::HeaderValues;
pub(crate) use metadata::AccountMetadata;
pub(crate) use token::TokenState;

/// One account's driver state. Not thread-safe by itself: transports wrap it in a mutex that is
/// never held across I/O.
#[derive(Debug)]
pub struct Driver {
    pub(crate) account: AccountReference,
    options: DriverOptions,
    pub(crate) eff: EffectiveOptions,
    pub(crate) limits: BudgetLimits,
    pub(crate) rng: DetRng,
    next_attempt: u64,
    pub(crate) metadata: AccountMetadata,
    pub(crate) token: TokenState,
    pub(crate) user_agent: HeaderValue,
    pub(crate) locations: LocationCache,
    /// Session tokens per container and partition key range, captured from data-plane answers.
    pub(crate) sessions: SessionContainer,
    /// Partition key definitions and pk-range routing maps.
    pub(crate) containers: ContainerCache,
    /// Per-partition circuit breaker.
    pub(crate) breaker: PartitionCircuitBreaker,
    /// Operation metrics and threshold alerts.
    pub(crate) metrics: Metrics,
    /// Bounds how many operations' diagnostics are logged (a storm cannot flood logs).
    pub(crate) log_limiter: LogRateLimiter,
    /// Claims executions hold on shared fetches and the hedge budget; each lapses by time, so
    /// a dropped execution cannot leak one.
    pub(crate) leases: Leases,
    /// Replay recording (`crate::replay`): `None` unless `start_recording` was called, so the
    /// hooks cost one branch when not recording.
    pub(crate) recorder: Option<Box<crate::replay::Recorder>>,
    /// The last endpoint's parsed scheme and authority, for building attempts' URIs.
    pub(crate) uri_base: crate::request::UriBase,
    /// The `x-ms-date` value of the last second a request was signed in.
    pub(crate) date: DateCache,
    /// Where activity ids', signatures' and partition keys' header values are cut from.
    pub(crate) header_values: HeaderValues,
    /// Point operations' header maps per shape, cloned instead of built by inserts.
    pub(crate) header_templates: HeaderTemplates,
}

impl Driver {
    /// A driver for `account`. `seed` fixes every random choice (jitter, activity ids): the same
    /// seed and the same inputs give the same actions.
    pub fn new(
        account: AccountReference,
        options: DriverOptions,
        seed: u64,
        _now: Now,
    ) -> Result<Driver, ConfigError> {
        let eff = options.resolve();
        let user_agent = match &eff.user_agent_suffix {
            // Static: every attempt's copy of it is then free (no shared reference count to
            // raise and drop, as a value built at run time has).
            None => HeaderValue::from_static(USER_AGENT),
            Some(s) => {
                let ua = format!("{USER_AGENT} {s}");
                HeaderValue::from_str(&ua).map_err(|_| ConfigError::InvalidSetting {
                    name: "user_agent_suffix".into(),
                    value: ua.clone(),
                    expected: "visible ASCII characters".into(),
                })?
            }
        };
        let locations = LocationCache::new(
            account.endpoint(),
            eff.preferred_regions.clone(),
            eff.unavailable_region_ttl,
        );
        let metrics = Metrics::new(eff.metrics.clone());
        let log_limiter = LogRateLimiter::default();
        Ok(Driver {
            limits: BudgetLimits::from_options(&eff),
            account,
            options,
            eff,
            rng: DetRng::new(seed),
            next_attempt: 1,
            uri_base: crate::request::UriBase::default(),
            date: DateCache::default(),
            header_values: HeaderValues::default(),
            header_templates: HeaderTemplates::default(),
            metadata: AccountMetadata::default(),
            token: TokenState::default(),
            user_agent,
            locations,
            sessions: SessionContainer::new(),
            containers: ContainerCache::default(),
            breaker: PartitionCircuitBreaker::default(),
            metrics,
            log_limiter,
            leases: Leases::default(),
            recorder: None,
        })
    }

    /// Starts recording every operation started from now on (requests, responses, events,
    /// times and the RNG seed) for [`crate::replay::replay`]. The RNG is reseeded from itself
    /// so the recording carries the exact random state. Restarts a recording in progress.
    ///
    /// A recording replays exactly only if it starts on a driver that has not sent anything
    /// yet ([`crate::replay::Recording::cold`]) and no operation started before it is still
    /// running: call this right after creating the driver.
    pub fn start_recording(&mut self) {
        let seed = self.rng.next_u64();
        self.rng = DetRng::new(seed);
        let cold = self.next_attempt == 1;
        self.recorder = Some(Box::new(crate::replay::Recorder::new(
            seed,
            self.next_attempt,
            cold,
            &self.account,
            &self.options,
        )));
    }

    /// Stops recording and returns what was recorded (`None` when not recording).
    pub fn take_recording(&mut self) -> Option<crate::replay::Recording> {
        self.recorder.take().map(|r| r.finish())
    }

    /// True while a recording is in progress.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Replay: continue attempt numbering where the recorded driver was.
    pub(crate) fn set_next_attempt(&mut self, next: u64) {
        self.next_attempt = next;
    }

    /// The account this driver serves.
    pub fn account(&self) -> &AccountReference {
        &self.account
    }

    /// Signs every attempt from now on with `account`'s credential: key rotation without a
    /// restart (.NET `AzureKeyCredential.Update`, Java `AzureKeyCredential.update`). Operations
    /// in flight sign their next attempt with the new credential. `account` must name this
    /// driver's endpoint (else [`ConfigError::AccountMismatch`]); returns whether anything
    /// changed. A new kind of credential starts with no cached Entra ID token. Switching between
    /// resource tokens and a key or Entra ID is refused ([`ConfigError::InvalidCredential`]):
    /// they are different principals.
    pub fn set_credential(&mut self, account: &AccountReference) -> Result<bool, ConfigError> {
        if !account.same_account(&self.account) {
            return Err(ConfigError::AccountMismatch {
                operation: account.endpoint().to_string(),
                driver: self.account.endpoint().to_string(),
            });
        }
        if self.account.credential().same_as(account.credential()) {
            return Ok(false);
        }
        let tokens = |c: &Credential| matches!(c, Credential::ResourceTokens(_));
        if tokens(self.account.credential()) != tokens(account.credential()) {
            // A key or Entra ID identity is the account's; resource tokens are one user's.
            return Err(ConfigError::InvalidCredential {
                reason: "a driver cannot switch between resource tokens and an account-level \
                         credential (key or Entra ID): they are different principals; use a \
                         driver of its own (create_driver) for resource tokens"
                    .into(),
            });
        }
        self.account = account.clone();
        self.token = TokenState::default();
        self.leases.token_done();
        Ok(true)
    }

    /// The options the driver was built with (before defaults).
    pub fn options(&self) -> &DriverOptions {
        &self.options
    }

    /// The account metadata, once read.
    pub fn account_properties(&self) -> Option<&Arc<AccountProperties>> {
        self.metadata.props()
    }

    /// The token credential, for transports answering [`crate::Action::AcquireToken`].
    pub fn token_credential(&self) -> Option<Arc<dyn TokenCredential>> {
        match self.account.credential() {
            Credential::TokenCredential(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// A snapshot of this driver's metrics (call [`Driver::poll_alerts`] first for current
    /// window figures).
    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Evaluates the alert rules over the sliding window; returns alerts raised or cleared.
    pub fn poll_alerts(&mut self, now: Now) -> Vec<Alert> {
        self.metrics.poll_alerts(now.mono)
    }

    /// Container metadata used for routing.
    pub fn containers(&self) -> &ContainerCache {
        &self.containers
    }

    /// Session tokens captured so far.
    pub fn sessions(&self) -> &SessionContainer {
        &self.sessions
    }

    /// The retry budgets this driver applies.
    pub fn budget_limits(&self) -> &BudgetLimits {
        &self.limits
    }

    /// Largest response body transports should accept.
    pub fn max_response_bytes(&self) -> usize {
        self.eff.max_response_bytes
    }

    pub(crate) fn next_attempt_id(&mut self) -> AttemptId {
        let id = AttemptId(self.next_attempt);
        self.next_attempt += 1;
        id
    }

    pub(crate) fn set_account_properties(&mut self, props: AccountProperties, now: Instant) {
        self.locations.update(&props);
        self.metadata.set(props, now);
    }

    /// Asks for an account refresh, at most once per `min_forced_refresh_interval`.
    pub(crate) fn force_account_refresh(&mut self, now: Instant) {
        self.metadata
            .force_refresh(now, self.eff.min_forced_refresh_interval);
    }

    /// Marks the account metadata stale once the refresh interval has passed (stale while
    /// revalidate: the next execution refreshes it, the others keep using the old copy).
    pub(crate) fn check_account_age(&mut self, now: Instant) {
        self.metadata
            .check_age(now, self.eff.account_refresh_interval);
    }

    /// Stores the result of a token acquisition. Transports call this directly when the
    /// execution that asked for the token has already finished (a background refresh outlives
    /// the operation that started it); otherwise they call [`crate::Execution::handle_token`].
    ///
    /// Returns the error when it leaves the driver without a usable token and the fallback scope
    /// has already been tried, so a waiting execution can fail with it.
    pub fn handle_token(
        &mut self,
        token: Result<AccessToken, CredentialError>,
        now: Now,
    ) -> Result<(), CredentialError> {
        // Replay recording hook (a token fed to the driver directly, not through an execution).
        if let Some(r) = self.recorder.as_mut() {
            r.driver_token(&token, now);
        }
        self.apply_token(token, now)
    }

    /// [`Driver::handle_token`] without the recording hook ([`Execution::handle_token`]
    /// records its token itself).
    pub(crate) fn apply_token(
        &mut self,
        token: Result<AccessToken, CredentialError>,
        now: Now,
    ) -> Result<(), CredentialError> {
        self.leases.token_done();
        self.token.apply(token, crate::now::clamp_wall(now.wall))
    }

    /// True when the driver's hedge budget has a free slot (expired entries are dropped first).
    pub(crate) fn hedge_budget_available(&mut self, now: Instant) -> bool {
        self.leases
            .hedge_available(now, self.eff.hedging.max_concurrent_hedges)
    }

    /// Hedged attempts currently counted against the budget.
    pub fn hedges_in_flight(&self) -> usize {
        self.leases.hedges()
    }

    /// The region locations.
    pub fn locations(&self) -> &LocationCache {
        &self.locations
    }

    /// Entra ID scopes to request.
    pub(crate) fn token_scopes(&self) -> Vec<String> {
        self.token.scopes(self.account.host())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::*;

    const KEY: &str =
        "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

    #[allow(clippy::disallowed_methods)] // the test plays the transport: it reads the clock once
    fn driver(options: DriverOptions) -> Driver {
        let account =
            AccountReference::with_master_key("https://acct.documents.azure.com:443/", KEY)
                .unwrap();
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        );
        Driver::new(account, options, 7, now).unwrap()
    }

    #[test]
    fn the_user_agent_names_the_version_and_the_callers_suffix() {
        let plain = driver(DriverOptions::default());
        let expected = format!("sextant/{} (sans-io core)", env!("CARGO_PKG_VERSION"));
        assert_eq!(plain.user_agent.to_str().ok(), Some(expected.as_str()));
        let options = DriverOptions::builder()
            .user_agent_suffix("my-app/2.1")
            .build()
            .unwrap();
        let suffixed = driver(options);
        assert_eq!(
            suffixed.user_agent.to_str().ok(),
            Some(format!("{expected} my-app/2.1").as_str())
        );
    }
}
