//! The settings half of every transport's `CosmosDriverRuntimeBuilder`, written once.

/// Declares a transport's `CosmosDriverRuntimeBuilder`: the struct, its setters (driver
/// options, connection pool, emulator certificate, environment, seed) and a private
/// `resolve(self)` that applies the environment and validates the settings
/// ([`sextant_core::RuntimeOptions::resolve`]). The transport writes only `build`, which makes
/// its HTTP client from the resolved options.
///
/// A macro rather than a shared type, so that each transport keeps a builder type of its own,
/// with inherent setters, while their code and documentation exist once.
///
/// ```ignore
/// sextant_host::runtime_builder!(CosmosDriverRuntime);
/// ```
#[macro_export]
macro_rules! runtime_builder {
    ($runtime:ident) => {
        #[doc = ::core::concat!("Builds a [`", ::core::stringify!($runtime), "`].")]
        #[derive(Debug, Clone, Default)]
        pub struct CosmosDriverRuntimeBuilder {
            options: $crate::__core::RuntimeOptions,
            environment: ::std::option::Option<
                ::std::collections::BTreeMap<::std::string::String, ::std::string::String>,
            >,
        }

        impl CosmosDriverRuntimeBuilder {
            /// Driver options every driver of this runtime inherits.
            pub fn driver_options(mut self, options: $crate::__core::DriverOptions) -> Self {
                self.options.driver_options = options;
                self
            }

            /// Connection pool settings: idle connections per host, idle timeout, connect
            /// timeout (build them with `ConnectionPoolOptions::builder()`). The same setting
            /// as `DriverOptionsBuilder::connection_pool_options` in
            /// [`driver_options`](Self::driver_options) (the seed's form); setting both to
            /// different values fails `build`. When neither is set, each field comes from its
            /// `AZURE_COSMOS_CONNECTION_POOL_*` variable or its default.
            pub fn connection_pool_options(
                mut self,
                options: $crate::__core::ConnectionPoolOptions,
            ) -> Self {
                self.options.connection_pool = Some(options);
                self
            }

            /// Accept the local emulator's self-signed certificate (never the default). With
            /// `true`, **no** server certificate is validated, so use it only against a local
            /// emulator.
            pub fn emulator_server_cert_validation_disabled(mut self, yes: bool) -> Self {
                self.options.emulator_server_cert_validation_disabled = yes;
                self
            }

            /// Use this map instead of the process environment (tests); by default `build`
            /// reads the process's `AZURE_COSMOS_*` variables.
            pub fn environment(
                mut self,
                vars: ::std::collections::BTreeMap<::std::string::String, ::std::string::String>,
            ) -> Self {
                self.environment = Some(vars);
                self
            }

            /// Fixed RNG seed for every driver (deterministic runs); by default each driver
            /// gets a seed derived from the clock, a counter and process-random keys.
            pub fn seed(mut self, seed: u64) -> Self {
                self.options.seed = Some(seed);
                self
            }

            /// The options in force: the environment (the given map, else the process's)
            /// applied under the explicit settings, validated. Errors name the variable or
            /// setting.
            fn resolve(
                self,
            ) -> ::std::result::Result<$crate::__core::RuntimeOptions, $crate::__core::ConfigError>
            {
                let vars = self.environment.unwrap_or_else($crate::process_environment);
                self.options.resolve(&vars)
            }
        }
    };
}
