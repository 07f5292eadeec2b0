//! Account metadata from `GET /`, parsed leniently (PROTOCOL.md §2).

use serde::Deserialize;

use crate::models::consistency::ConsistencyLevel;

/// One regional endpoint advertised by the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRegion {
    /// Region name, e.g. `West US 2`.
    pub name: String,
    /// The regional endpoint, normalized to end with `/`.
    pub endpoint: String,
}

/// What the driver needs from the account metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountProperties {
    /// Write regions in failover-priority order; the first is the hub.
    pub writable_regions: Vec<AccountRegion>,
    /// Read regions in failover-priority order.
    pub readable_regions: Vec<AccountRegion>,
    /// Multi-region writes enabled.
    pub multiple_write_locations: bool,
    /// The account's default consistency level, when stated and known.
    pub default_consistency: Option<ConsistencyLevel>,
    /// `enablePerPartitionFailoverBehavior`.
    pub per_partition_failover: bool,
}

/// The account metadata body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("account metadata (GET /): {reason}")]
pub struct AccountPropertiesError {
    /// What was wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "writableLocations", default)]
    writable: Vec<RawLocation>,
    #[serde(rename = "readableLocations", default)]
    readable: Vec<RawLocation>,
    #[serde(rename = "enableMultipleWriteLocations", default)]
    multi_write: Option<bool>,
    #[serde(rename = "userConsistencyPolicy", default)]
    consistency: Option<RawConsistency>,
    #[serde(rename = "enablePerPartitionFailoverBehavior", default)]
    ppaf: Option<bool>,
}

#[derive(Deserialize)]
struct RawLocation {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "databaseAccountEndpoint", default)]
    endpoint: Option<String>,
}

#[derive(Deserialize)]
struct RawConsistency {
    #[serde(rename = "defaultConsistencyLevel", default)]
    level: Option<String>,
}

impl AccountProperties {
    /// Parses a `GET /` body. Unknown fields are ignored; locations without a usable endpoint are
    /// skipped; an unknown consistency level is treated as not stated.
    pub fn parse(body: &[u8]) -> Result<Self, AccountPropertiesError> {
        let raw: Raw = serde_json::from_slice(body).map_err(|e| AccountPropertiesError {
            reason: format!("invalid JSON: {e}"),
        })?;
        let regions = |list: Vec<RawLocation>| -> Vec<AccountRegion> {
            list.into_iter()
                .filter_map(|l| {
                    let endpoint = l.endpoint?;
                    let (endpoint, _) =
                        crate::models::account_reference::normalize_endpoint(&endpoint).ok()?;
                    Some(AccountRegion {
                        name: l.name.unwrap_or_default(),
                        endpoint,
                    })
                })
                .collect()
        };
        Ok(AccountProperties {
            writable_regions: regions(raw.writable),
            readable_regions: regions(raw.readable),
            multiple_write_locations: raw.multi_write.unwrap_or(false),
            default_consistency: raw
                .consistency
                .and_then(|c| c.level)
                .and_then(|l| l.parse().ok()),
            per_partition_failover: raw.ppaf.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations_and_flags() {
        let body = br#"{"id":"acct","writableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"}],
            "readableLocations":[{"name":"West US 2","databaseAccountEndpoint":"https://a-westus2.documents.azure.com:443/"},{"name":"East US","databaseAccountEndpoint":"https://a-eastus.documents.azure.com:443/"},{"name":"Broken","databaseAccountEndpoint":"not a url"}],
            "enableMultipleWriteLocations":false,"userConsistencyPolicy":{"defaultConsistencyLevel":"Session"},"enablePerPartitionFailoverBehavior":true}"#;
        let p = AccountProperties::parse(body).unwrap();
        assert_eq!(p.writable_regions.len(), 1);
        assert_eq!(p.readable_regions.len(), 2);
        assert_eq!(p.readable_regions[1].name, "East US");
        assert_eq!(p.default_consistency, Some(ConsistencyLevel::Session));
        assert!(p.per_partition_failover);
    }

    #[test]
    fn rejects_non_json() {
        assert!(AccountProperties::parse(b"<html>").is_err());
        assert_eq!(
            AccountProperties::parse(b"{}").unwrap(),
            AccountProperties::default()
        );
    }
}
