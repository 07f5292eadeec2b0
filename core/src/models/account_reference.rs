//! The account an operation targets: endpoint plus credential.

use std::fmt;
use std::sync::Arc;

use http::Uri;

use crate::auth::MasterKey;
use crate::credential::{Credential, ResourceToken, TokenCredential};
use crate::error::ConfigError;

/// An account endpoint and the credential used for it. Cheap to clone.
#[derive(Clone)]
pub struct AccountReference {
    inner: Arc<AccountInner>,
}

struct AccountInner {
    endpoint: String,
    host: String,
    credential: Credential,
}

impl AccountReference {
    /// An account accessed with a master key. The endpoint must be an absolute `http` or `https`
    /// URL; the key must be standard base64 with padding. Both are checked here.
    pub fn with_master_key(endpoint: &str, key: &str) -> Result<Self, ConfigError> {
        let key = MasterKey::parse(key).map_err(|e| ConfigError::InvalidMasterKey {
            reason: e.to_string(),
        })?;
        Self::new(endpoint, Credential::MasterKey(key))
    }

    /// An account from a connection string as the portal shows it:
    /// `AccountEndpoint=https://…:443/;AccountKey=…;` (setting names case-insensitive, in any
    /// order, a trailing `;` optional; other settings are ignored). Errors never contain the key.
    pub fn from_connection_string(connection_string: &str) -> Result<Self, ConfigError> {
        let mut endpoint = None;
        let mut key = None;
        for part in connection_string.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(ConfigError::InvalidCredential {
                    reason: format!(
                        "connection string part {:?} is not Name=Value",
                        crate::redact::redact(part)
                    ),
                });
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "accountendpoint" => endpoint = Some(value.trim()),
                "accountkey" => key = Some(value.trim()),
                _ => {}
            }
        }
        let endpoint = endpoint.ok_or_else(|| ConfigError::InvalidCredential {
            reason: "the connection string has no AccountEndpoint".into(),
        })?;
        let key = key.ok_or_else(|| ConfigError::InvalidCredential {
            reason: "the connection string has no AccountKey".into(),
        })?;
        Self::with_master_key(endpoint, key)
    }

    /// An account accessed with resource tokens from Cosmos DB permissions.
    pub fn with_resource_tokens(
        endpoint: &str,
        tokens: Vec<ResourceToken>,
    ) -> Result<Self, ConfigError> {
        if tokens.is_empty() {
            return Err(ConfigError::InvalidCredential {
                reason: "no resource tokens were given".into(),
            });
        }
        Self::new(endpoint, Credential::ResourceTokens(tokens.into()))
    }

    /// An account accessed with Entra ID tokens from `credential`.
    pub fn with_token_credential(
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<Self, ConfigError> {
        Self::new(endpoint, Credential::TokenCredential(credential))
    }

    fn new(endpoint: &str, credential: Credential) -> Result<Self, ConfigError> {
        let (endpoint, host) = normalize_endpoint(endpoint)?;
        Ok(AccountReference {
            inner: Arc::new(AccountInner {
                endpoint,
                host,
                credential,
            }),
        })
    }

    /// The normalized endpoint: `scheme://host[:port]/` (always ends with `/`).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The endpoint's host name (used for the Entra ID scope).
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The credential.
    pub fn credential(&self) -> &Credential {
        &self.inner.credential
    }

    /// True when both references name the same endpoint.
    pub fn same_account(&self, other: &AccountReference) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.endpoint == other.inner.endpoint
    }
}

impl fmt::Debug for AccountReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountReference")
            .field("endpoint", &self.inner.endpoint)
            .field("credential", &self.inner.credential)
            .finish()
    }
}

/// Checks an endpoint and returns it as `scheme://authority/` plus the host.
pub(crate) fn normalize_endpoint(endpoint: &str) -> Result<(String, String), ConfigError> {
    // The value is echoed in errors: never with key material in it.
    let bad = |reason: &str| ConfigError::InvalidEndpoint {
        value: crate::redact::redact(endpoint),
        reason: reason.to_string(),
    };
    let trimmed = endpoint.trim();
    if trimmed.is_empty() {
        return Err(bad("the endpoint is empty"));
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.contains("accountendpoint=") || lower.contains("accountkey=") {
        return Err(ConfigError::InvalidEndpoint {
            value: crate::redact::REDACTED.into(),
            reason: "this looks like a connection string; use \
                     AccountReference::from_connection_string"
                .into(),
        });
    }
    if trimmed.contains('#') {
        return Err(bad("the endpoint must not have a fragment"));
    }
    let uri: Uri = trimmed
        .parse()
        .map_err(|e| bad(&format!("not a valid URL ({e})")))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| bad("missing scheme; expected https://host[:port]/"))?;
    if scheme != "https" && scheme != "http" {
        return Err(bad(
            "the scheme must be https (or http for a local test server)",
        ));
    }
    let authority = uri.authority().ok_or_else(|| bad("missing host"))?;
    if authority.host().is_empty() {
        return Err(bad("missing host"));
    }
    if authority.as_str().contains('@') {
        return Err(bad("user information in the endpoint is not allowed"));
    }
    // `http::Uri` keeps a port it cannot read as u16 (`:99999`) in the authority text.
    let host = authority.host();
    let after_host = authority
        .as_str()
        .rsplit_once(']')
        .map_or(authority.as_str(), |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':') {
        match port.parse::<u32>() {
            Ok(p) if (1..=65_535).contains(&p) => {}
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        }
    }
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    let path = uri.path();
    if !(path.is_empty() || path == "/") || uri.query().is_some() {
        return Err(bad(
            "the endpoint must not have a path or query; use https://host[:port]/",
        ));
    }
    Ok((
        format!("{scheme}://{}/", authority.as_str()),
        authority.host().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

    #[test]
    fn bad_endpoints_are_refused_by_rule_without_echoing_keys() {
        let cases = [
            ("https://acct:99999/", "port"),
            ("https://acct:0/", "port"),
            ("https://acct:65536/", "port"),
            ("ftp://acct/", "scheme"),
            ("https://user:pw@acct/", "user information"),
            ("https://acct/?a=b", "query"),
            ("https://acct/#frag", "fragment"),
            ("https://acct/dbs", "path"),
            ("acct.documents.azure.com", "scheme"),
        ];
        for (endpoint, needle) in cases {
            let e = AccountReference::with_master_key(endpoint, KEY)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{endpoint}: {e}");
        }
        let cs = format!("AccountEndpoint=https://a.documents.azure.com:443/;AccountKey={KEY};");
        for bad in [
            cs.clone(),
            format!("https://user:{KEY}@acct/"),
            format!("https://acct/?key={KEY}"),
        ] {
            let e = AccountReference::with_master_key(&bad, KEY).unwrap_err();
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(&KEY[..16]), "key echoed: {text}");
            }
        }
        let e = AccountReference::with_master_key(&cs, KEY)
            .unwrap_err()
            .to_string();
        assert!(e.contains("from_connection_string"), "{e}");
    }

    #[test]
    fn connection_strings_are_accepted_in_any_case_and_order() {
        for cs in [
            format!("AccountEndpoint=https://a.documents.azure.com:443/;AccountKey={KEY};"),
            format!("accountkey={KEY};ACCOUNTENDPOINT=https://a.documents.azure.com:443/"),
            format!(" AccountEndpoint = https://a.documents.azure.com:443/ ; AccountKey={KEY} ; Other=x"),
        ] {
            let a = AccountReference::from_connection_string(&cs).unwrap();
            assert_eq!(a.endpoint(), "https://a.documents.azure.com:443/");
        }
        for bad in [
            format!("AccountKey={KEY}"),
            "AccountEndpoint=https://a/".to_string(),
            format!("AccountEndpoint=https://a/;AccountKey={KEY};junk"),
            "AccountEndpoint=https://a/;AccountKey=not base64!".to_string(),
        ] {
            let e = AccountReference::from_connection_string(&bad).unwrap_err();
            assert!(!format!("{e} {e:?}").contains(&KEY[..16]), "{e}");
        }
    }

    #[test]
    fn normalizes_endpoints() {
        let a =
            AccountReference::with_master_key("https://acct.documents.azure.com:443", KEY).unwrap();
        assert_eq!(a.endpoint(), "https://acct.documents.azure.com:443/");
        assert_eq!(a.host(), "acct.documents.azure.com");
        let b = AccountReference::with_master_key("http://127.0.0.1:8081/", KEY).unwrap();
        assert_eq!(b.endpoint(), "http://127.0.0.1:8081/");
    }

    #[test]
    fn rejects_bad_endpoints_with_a_reason() {
        for bad in [
            "",
            "acct.documents.azure.com",
            "ftp://x/",
            "https://x/dbs",
            "https://x/?a=1",
            "https://",
        ] {
            let e = AccountReference::with_master_key(bad, KEY).unwrap_err();
            assert!(
                matches!(e, ConfigError::InvalidEndpoint { .. }),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rejects_bad_keys() {
        let e = AccountReference::with_master_key("https://x/", "not a key!").unwrap_err();
        assert!(matches!(e, ConfigError::InvalidMasterKey { .. }), "{e}");
        assert!(e.to_string().contains("master key"), "{e}");
    }
}
