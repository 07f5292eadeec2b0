//! The methods every transport's `CosmosDriver` has that do no I/O, written once.

/// Implements, on a transport's `CosmosDriver`, the methods that only reach the core: metrics,
/// alerts, recording, key rotation, `account` and `core`, and [`sextant_core::DriverHandle`].
///
/// A macro rather than a trait, so that they stay inherent methods of each transport's own type
/// (callers import nothing) while their code and documentation exist once. The transport names
/// where its account and shared driver live:
///
/// ```ignore
/// sextant_host::driver_methods!(CosmosDriver, |d| account: d.inner.account, shared: d.inner.shared);
/// ```
///
/// The type must be `Clone` ([`sextant_core::DriverHandle`] requires it; the transports' drivers
/// are an `Arc` or a few of them).
///
/// `export_metrics` is compiled when the *transport* enables its `metrics` feature (which must
/// enable `sextant-core/metrics-facade`): the `cfg` is read where the macro is expanded.
#[macro_export]
macro_rules! driver_methods {
    ($driver:ty, |$d:ident| account: $account:expr, shared: $shared:expr $(,)?) => {
        impl $driver {
            /// This driver's metrics: totals since it was created, latency quantiles, and the
            /// current sliding window (call `poll_alerts` first to move the window to now).
            pub fn metrics(&self) -> $crate::__core::metrics::MetricsSnapshot {
                self.core().lock().metrics_snapshot()
            }

            /// Alerts raised or cleared since the last call, from the alert rules of the
            /// driver's options evaluated over the sliding window.
            pub fn poll_alerts(&self) -> ::std::vec::Vec<$crate::__core::metrics::Alert> {
                let now = $crate::now();
                self.core().lock().poll_alerts(now)
            }

            /// Publishes this driver's metrics to the `metrics` facade (feature `metrics`): call
            /// it periodically; the installed recorder (Prometheus, StatsD, ...) receives them.
            #[cfg(feature = "metrics")]
            pub fn export_metrics(&self) {
                $crate::__core::metrics::export_to_metrics_facade(
                    &self.metrics(),
                    self.account().endpoint(),
                );
            }

            /// Starts recording every operation started on this driver from now on, for
            /// `sextant_core::replay::replay` (see the README, "Recording and replaying an
            /// operation"). Call it right after creating the driver so the recording replays
            /// exactly; recording stops by itself after `sextant_core::replay::MAX_ENTRIES`
            /// entries or `sextant_core::replay::MAX_BODY_BYTES` of bodies.
            pub fn start_recording(&self) {
                self.core().lock().start_recording()
            }

            /// Stops recording and returns the recording (`None` when not recording). Save it
            /// with `Recording::to_json`; it holds no keys or tokens, but it does hold request
            /// and response bodies.
            pub fn take_recording(
                &self,
            ) -> ::std::option::Option<$crate::__core::replay::Recording> {
                self.core().lock().take_recording()
            }

            /// Signs every request from now on with `account`'s credential (key rotation
            /// without a restart; operations in flight use it for their next attempt).
            /// `account` must name this driver's endpoint. Returns whether the credential
            /// changed.
            pub fn rotate_credential(
                &self,
                account: &$crate::__core::models::AccountReference,
            ) -> ::std::result::Result<bool, $crate::__core::CosmosError> {
                ::std::result::Result::Ok(self.core().lock().set_credential(account)?)
            }

            /// The account this driver was created for (its credential is the one it was
            /// created with; after a rotation, `core().lock().account()` has the current one).
            pub fn account(&self) -> &$crate::__core::models::AccountReference {
                let $d = self;
                &$account
            }

            /// The sans-IO driver underneath (account metadata, options), for inspection and
            /// for code that drives the core directly.
            pub fn core(&self) -> &$crate::__core::SharedDriver {
                let $d = self;
                &$shared
            }
        }

        impl $crate::__core::DriverHandle for $driver {
            fn shared(&self) -> &$crate::__core::SharedDriver {
                self.core()
            }
        }
    };
}
