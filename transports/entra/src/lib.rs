//! # sextant-entra
//!
//! Entra ID (formerly Azure AD) authentication for Sextant from the Azure SDK's credentials:
//! any [`azure_core::credentials::TokenCredential`] (for example `azure_identity`'s
//! `DefaultAzureCredential`, `ManagedIdentityCredential` or `ClientSecretCredential`) becomes a
//! Sextant [`sextant_core::TokenCredential`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Result<(), sextant_core::ConfigError> {
//! use sextant_core::models::AccountReference;
//! use sextant_entra::EntraAccount;
//!
//! // `credential` is e.g. `azure_identity::DefaultAzureCredential::new()?`.
//! let account = AccountReference::with_credential("https://myaccount.documents.azure.com/", credential)?;
//! # Ok(()) }
//! ```
//!
//! What the driver does with it (PROTOCOL.md §1): it asks for scope
//! `https://<account host>/.default`, sends `type=aad&ver=1.0&sig=<token>`, and refreshes the
//! token in the background once it has less than five minutes left
//! (`sextant_core::driver::TOKEN_REFRESH_OFFSET`), using the current token until the new one
//! arrives: a request never waits for a refresh while its token is still valid. Only one
//! acquisition runs at a time per account. The credential's future is polled by the transport
//! (tokio, async-std/smol, or a worker thread of the blocking transport); a credential that
//! needs a particular runtime (azure_identity's, for example, uses tokio for some sources) must
//! be used with a transport that provides it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sextant_core::credential::{AccessToken, CredentialError, TokenCredential, TokenFuture};
use sextant_core::models::AccountReference;
use sextant_core::ConfigError;

/// An `azure_core` token credential, usable as a Sextant one.
#[derive(Clone)]
pub struct AzureCredential {
    inner: Arc<dyn azure_core::credentials::TokenCredential>,
}

impl AzureCredential {
    /// Wraps `credential`.
    pub fn new(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        AzureCredential { inner: credential }
    }
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AzureCredential").field(&self.inner).finish()
    }
}

/// The wall-clock time of an `azure_core` expiry (`OffsetDateTime`); a time before 1970 (never
/// valid) maps to the epoch.
fn system_time(unix_nanos: i128) -> SystemTime {
    let nanos = u128::try_from(unix_nanos).unwrap_or(0);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // `as` is exact: the remainder is below 10^9.
    let sub = (nanos % 1_000_000_000) as u32;
    UNIX_EPOCH
        .checked_add(Duration::new(secs, sub))
        .unwrap_or(UNIX_EPOCH)
}

impl TokenCredential for AzureCredential {
    fn get_token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(async move {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            match self.inner.get_token(&scopes, None).await {
                Ok(t) => Ok(AccessToken {
                    token: t.token.secret().to_owned(),
                    expires_on: system_time(t.expires_on.unix_timestamp_nanos()),
                }),
                Err(e) => Err(CredentialError::new(format!("azure_core credential: {e}"))),
            }
        })
    }
}

/// `AccountReference::with_credential`, as the seed's Example 2 writes it, for an `azure_core`
/// credential.
pub trait EntraAccount: Sized {
    /// An account at `endpoint` authenticated with Entra ID through `credential`.
    fn with_credential(
        endpoint: &str,
        credential: Arc<dyn azure_core::credentials::TokenCredential>,
    ) -> Result<Self, ConfigError>;
}

impl EntraAccount for AccountReference {
    fn with_credential(
        endpoint: &str,
        credential: Arc<dyn azure_core::credentials::TokenCredential>,
    ) -> Result<Self, ConfigError> {
        AccountReference::with_token_credential(
            endpoint,
            Arc::new(AzureCredential::new(credential)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times_convert_exactly_and_never_panic() {
        assert_eq!(
            system_time(1_700_000_000_123_456_789),
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
        );
        assert_eq!(system_time(-5), UNIX_EPOCH);
        let _ = system_time(i128::MAX);
    }
}
