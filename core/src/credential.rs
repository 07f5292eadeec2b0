//! How requests are authorized: master key, resource tokens, or an Entra ID token credential.
//!
//! Token acquisition is I/O, so the core never calls a [`TokenCredential`]: it asks the transport
//! with [`crate::Action::AcquireToken`] and is handed the result through
//! [`crate::Execution::handle_token`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::auth::MasterKey;

/// An Entra ID (AAD) access token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token (a JWT).
    pub token: String,
    /// When the token stops being valid (wall clock).
    pub expires_on: SystemTime,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// A token acquisition failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential error: {message}")]
pub struct CredentialError {
    /// What the credential reported.
    pub message: String,
}

impl CredentialError {
    /// Builds an error.
    pub fn new(message: impl Into<String>) -> Self {
        CredentialError {
            message: message.into(),
        }
    }
}

/// Boxed future returned by [`TokenCredential::get_token`].
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, CredentialError>> + Send + 'a>>;

/// Source of Entra ID tokens, implemented by the application (for example over `azure_identity`).
///
/// The future is polled by the transport, never by the core. Blocking transports poll it with a
/// simple executor, so implementations must not depend on a particular async runtime unless the
/// application only uses a transport for that runtime.
pub trait TokenCredential: Send + Sync + fmt::Debug {
    /// Returns a token valid for `scopes`.
    fn get_token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a>;
}

/// A resource token handed out by a Cosmos DB permission (`type=resource&ver=1.0&sig=...`).
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceToken {
    /// The resource the permission covers, as a name-based link (`dbs/db/colls/c`).
    pub resource_link: String,
    /// The permission's `_token` value, unencoded.
    pub token: String,
}

impl fmt::Debug for ResourceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceToken")
            .field("resource_link", &self.resource_link)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The credential an account is accessed with.
#[derive(Clone)]
pub enum Credential {
    /// The account's primary or secondary key (decoded and pre-keyed).
    MasterKey(MasterKey),
    /// Permission tokens; the one whose link is the longest prefix of the request's is used.
    ResourceTokens(Arc<[ResourceToken]>),
    /// Entra ID through a token credential the transport polls.
    TokenCredential(Arc<dyn TokenCredential>),
}

impl Credential {
    /// True when both would sign requests the same way: the same master key, the same resource
    /// tokens, or the same token credential object.
    pub fn same_as(&self, other: &Credential) -> bool {
        match (self, other) {
            (Credential::MasterKey(a), Credential::MasterKey(b)) => a.same_key(b),
            (Credential::ResourceTokens(a), Credential::ResourceTokens(b)) => a == b,
            (Credential::TokenCredential(a), Credential::TokenCredential(b)) => {
                std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::MasterKey(_) => f.write_str("Credential::MasterKey(<redacted>)"),
            Credential::ResourceTokens(t) => {
                write!(f, "Credential::ResourceTokens({} tokens)", t.len())
            }
            Credential::TokenCredential(c) => write!(f, "Credential::TokenCredential({c:?})"),
        }
    }
}

/// Picks the resource token whose link is the longest segment-wise prefix of `resource_link`.
/// The account read (`GET /`, empty link) accepts any token: the first is used, as the JS SDK's
/// `getAuthorizationTokenUsingResourceTokens` does.
pub(crate) fn select_resource_token<'a>(
    tokens: &'a [ResourceToken],
    resource_link: &str,
) -> Option<&'a ResourceToken> {
    if resource_link.is_empty() {
        return tokens.first();
    }
    tokens
        .iter()
        .filter(|t| {
            let prefix = t.resource_link.trim_matches('/');
            prefix.is_empty()
                || resource_link == prefix
                || (resource_link.starts_with(prefix)
                    && resource_link.as_bytes().get(prefix.len()) == Some(&b'/'))
        })
        .max_by_key(|t| t.resource_link.trim_matches('/').len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(link: &str) -> ResourceToken {
        ResourceToken {
            resource_link: link.into(),
            token: format!("type=resource&ver=1.0&sig={link}"),
        }
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let tokens = [tok("dbs/db"), tok("dbs/db/colls/c"), tok("dbs/db/colls/c2")];
        let pick = |l: &str| select_resource_token(&tokens, l).map(|t| t.resource_link.clone());
        assert_eq!(
            pick("dbs/db/colls/c/docs/x").as_deref(),
            Some("dbs/db/colls/c")
        );
        assert_eq!(pick("dbs/db/colls/c2").as_deref(), Some("dbs/db/colls/c2"));
        assert_eq!(pick("dbs/db/colls/c3").as_deref(), Some("dbs/db"));
        assert_eq!(pick("dbs/other").as_deref(), None);
        assert_eq!(
            pick("").as_deref(),
            Some("dbs/db"),
            "account reads take the first token"
        );
    }
}
