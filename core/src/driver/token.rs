//! The Entra ID token a driver shares: acquired on first use, refreshed ahead of expiry, and
//! the scope fallback after a rejected account scope (PROTOCOL.md §1).

use std::time::SystemTime;

use crate::credential::{AccessToken, CredentialError};

/// Fallback Entra ID scope when the account-host scope is rejected (PROTOCOL.md §1).
pub const FALLBACK_AAD_SCOPE: &str = "https://cosmos.azure.com/.default";

/// The current token and which scope to ask for.
#[derive(Debug, Default)]
pub(crate) struct TokenState {
    current: Option<AccessToken>,
    use_fallback_scope: bool,
}

impl TokenState {
    /// The last token acquired, expired or not (the service judges; the execution refreshes
    /// ahead of expiry).
    pub fn current(&self) -> Option<&AccessToken> {
        self.current.as_ref()
    }

    /// The current token if it has not expired at `wall`.
    pub fn valid_at(&self, wall: SystemTime) -> Option<&AccessToken> {
        self.current.as_ref().filter(|t| t.expires_on > wall)
    }

    /// Stores the result of an acquisition. Returns the error when it leaves no usable token
    /// and the fallback scope has already been tried; a failure while the current token is
    /// still valid (a background refresh) is absorbed.
    pub fn apply(
        &mut self,
        token: Result<AccessToken, CredentialError>,
        wall: SystemTime,
    ) -> Result<(), CredentialError> {
        match token {
            Ok(t) => {
                self.current = Some(t);
                Ok(())
            }
            Err(_) if self.valid_at(wall).is_some() => Ok(()),
            Err(_) if !self.use_fallback_scope => {
                // Retry once with the cosmos.azure.com scope (.NET does on AADSTS500011).
                self.use_fallback_scope = true;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Entra ID scopes to request for an account at `host`.
    pub fn scopes(&self, host: &str) -> Vec<String> {
        if self.use_fallback_scope {
            vec![FALLBACK_AAD_SCOPE.to_string()]
        } else {
            vec![format!("https://{host}/.default")]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn token(expires_on: SystemTime) -> AccessToken {
        AccessToken {
            token: "t".into(),
            expires_on,
        }
    }

    #[test]
    fn a_failed_acquisition_falls_back_to_the_cosmos_scope_once_then_fails() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut t = TokenState::default();
        assert_eq!(
            t.scopes("acct.documents.azure.com"),
            ["https://acct.documents.azure.com/.default"]
        );
        let err = || Err(CredentialError::new("AADSTS500011"));
        assert!(t.apply(err(), wall).is_ok());
        assert_eq!(t.scopes("acct.documents.azure.com"), [FALLBACK_AAD_SCOPE]);
        assert!(t.apply(err(), wall).is_err());
    }

    #[test]
    fn a_failed_refresh_keeps_a_valid_token() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut t = TokenState::default();
        t.apply(Ok(token(wall + Duration::from_secs(60))), wall)
            .unwrap();
        assert!(t.apply(Err(CredentialError::new("down")), wall).is_ok());
        assert!(t.valid_at(wall).is_some());
        assert!(t.valid_at(wall + Duration::from_secs(60)).is_none());
    }
}
