//! TLS settings: rustls with the webpki root store, or, for the local emulator only, no
//! certificate validation at all.

use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// The TLS configuration of a runtime's agent.
///
/// With `accept_any_certificate` (the emulator switch, never the default) every certificate is
/// accepted: the emulator's is self-signed, expired and names no address. Otherwise server
/// certificates are validated against the Mozilla root store shipped in `webpki-roots`, so the
/// client behaves the same on every machine.
pub(crate) fn tls_config(accept_any_certificate: bool) -> TlsConfig {
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::WebPki)
        .disable_verification(accept_any_certificate)
        .build()
}
