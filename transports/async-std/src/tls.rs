//! TLS client configuration: rustls with the `ring` provider and the webpki root store.
//!
//! Certificates are validated by default. Only when emulator acceptance is enabled
//! ([`crate::CosmosDriverRuntimeBuilder::emulator_server_cert_validation_disabled`]) is any
//! certificate accepted, for the local emulator's self-signed one; even then the handshake
//! signatures are verified with the provider's algorithms, so the peer must hold the key of the
//! certificate it presents.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sextant_core::ConfigError;

/// Builds the client configuration (HTTP/1.1 over ALPN).
pub(crate) fn client_config(
    accept_any_certificate: bool,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::InvalidSetting {
            name: "tls".into(),
            value: e.to_string(),
            expected: "a TLS provider supporting TLS 1.2 or 1.3".into(),
        })?;
    let mut config = if accept_any_certificate {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EmulatorCertVerifier {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS server name for a URI host: an IP address when it is one (IPv6 without brackets),
/// else a DNS name.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))
}

/// Accepts any certificate chain (emulator only) but still checks handshake signatures.
#[derive(Debug)]
struct EmulatorCertVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for EmulatorCertVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_hosts_become_ip_server_names() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("myaccount.documents.azure.com"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(server_name("not a host").is_err());
    }

    #[test]
    fn both_configurations_build_and_speak_http11() {
        for accept in [false, true] {
            let config = client_config(accept).map_err(|e| e.to_string());
            assert_eq!(
                config.map(|c| c.alpn_protocols.clone()),
                Ok(vec![b"http/1.1".to_vec()])
            );
        }
    }
}
