//! Full-text search: the container's full-text policy and the full-text indexes of its indexing
//! policy.
//!
//! Wire names as the official SDKs write them: `fullTextPolicy` with `defaultLanguage` and
//! `fullTextPaths[]` of `path` and `language` (.NET `FullTextPolicy`/`FullTextPath`, JS
//! `FullTextPolicy.ts`, Rust `azure_data_cosmos` `FullTextPolicy`), and
//! `indexingPolicy.fullTextIndexes[]` of `path` (.NET `FullTextIndexPath`, Rust `FullTextIndex`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::models::validate;

/// Which paths hold text for full-text search, and how it is analyzed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FullTextPolicy {
    /// The language of paths that do not name one (`defaultLanguage`, a tag such as `en-US`;
    /// the service checks the supported set).
    #[serde(
        rename = "defaultLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_language: Option<String>,
    /// The text paths (`fullTextPaths`); absent and empty are kept apart so a read policy is
    /// sent back as it came.
    #[serde(
        rename = "fullTextPaths",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub full_text_paths: Option<Vec<FullTextPath>>,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl FullTextPolicy {
    /// A policy with `default_language` and these paths.
    pub fn new(
        default_language: impl Into<String>,
        paths: impl IntoIterator<Item = FullTextPath>,
    ) -> Self {
        FullTextPolicy {
            default_language: Some(default_language.into()),
            full_text_paths: Some(paths.into_iter().collect()),
            other: Map::new(),
        }
    }

    /// Checks that every path starts with `/`, as .NET's `FullTextPath.ValidateFullTextPath`
    /// does. Errors name the field (`fullTextPolicy.fullTextPaths[0].path`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, p) in self.full_text_paths.iter().flatten().enumerate() {
            validate::path(format!("fullTextPolicy.fullTextPaths[{i}].path"), &p.path)?;
        }
        Ok(())
    }

    /// `true` when `path` is one of the policy's text paths.
    pub fn declares(&self, path: &str) -> bool {
        self.full_text_paths
            .iter()
            .flatten()
            .any(|p| p.path == path)
    }
}

/// One text path of a [`FullTextPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextPath {
    /// The path holding text (`/description`).
    pub path: String,
    /// Its language; absent uses the policy's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Every other field the service returned (`tokenizer`, `filters`, ...), sent back
    /// unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl FullTextPath {
    /// A path in the policy's default language.
    pub fn new(path: impl Into<String>) -> Self {
        FullTextPath {
            path: path.into(),
            language: None,
            other: Map::new(),
        }
    }

    /// A path in `language`.
    pub fn with_language(path: impl Into<String>, language: impl Into<String>) -> Self {
        FullTextPath {
            path: path.into(),
            language: Some(language.into()),
            other: Map::new(),
        }
    }
}

/// A full-text index in the indexing policy (`fullTextIndexes[]`). Its path must be one of the
/// container's [`FullTextPolicy`] paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextIndex {
    /// The indexed text path.
    pub path: String,
    /// Every other field the service returned, sent back unchanged.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl FullTextIndex {
    /// An index over `path`.
    pub fn new(path: impl Into<String>) -> Self {
        FullTextIndex {
            path: path.into(),
            other: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_match_the_sdks() {
        // The Rust SDK's `container_properties_serializes_full_text_policy` literal.
        let policy = FullTextPolicy::new(
            "en-US",
            [
                FullTextPath::new("/title"),
                FullTextPath::with_language("/abstract", "fr-FR"),
            ],
        );
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({"defaultLanguage": "en-US", "fullTextPaths": [
                {"path": "/title"}, {"path": "/abstract", "language": "fr-FR"}
            ]})
        );
        assert_eq!(
            serde_json::to_value(FullTextIndex::new("/abstract")).unwrap(),
            json!({"path": "/abstract"})
        );
        assert!(policy.declares("/abstract") && !policy.declares("/body"));
    }

    #[test]
    fn unknown_fields_round_trip() {
        let wire = json!({
            "defaultLanguage": "en-US",
            "fullTextPaths": [{"path": "/abstract", "tokenizer": "word", "filters": ["stop"]}],
            "package": "standard"
        });
        let policy: FullTextPolicy = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&policy).unwrap(), wire);
        // An empty path list is kept, not dropped.
        let empty = json!({"defaultLanguage": "en-US", "fullTextPaths": []});
        let policy: FullTextPolicy = serde_json::from_value(empty.clone()).unwrap();
        assert_eq!(serde_json::to_value(&policy).unwrap(), empty);
    }

    #[test]
    fn validation_names_the_field() {
        let policy = FullTextPolicy::new(
            "en-US",
            [FullTextPath::new("/ok"), FullTextPath::new("bad")],
        );
        match policy.validate() {
            Err(ConfigError::InvalidSetting { name, value, .. }) => {
                assert_eq!(name, "fullTextPolicy.fullTextPaths[1].path");
                assert_eq!(value, "bad");
            }
            other => panic!("{other:?}"),
        }
    }
}
