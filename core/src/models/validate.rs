//! Shared checks of the model builders. Every failure is a [`ConfigError::InvalidSetting`]
//! naming the field by its wire path (`indexingPolicy.compositeIndexes[0]`) and the bad value.

use crate::error::ConfigError;

/// The error for field `name` holding `value`, which should be `expected`.
pub(crate) fn invalid(
    name: impl Into<String>,
    value: impl Into<String>,
    expected: impl Into<String>,
) -> ConfigError {
    ConfigError::InvalidSetting {
        name: name.into(),
        value: value.into(),
        expected: expected.into(),
    }
}

/// A document path: `/` followed by at least one character, as every SDK checks before sending
/// (.NET `Embedding.ValidateEmbeddingPath` and `FullTextPath.ValidateFullTextPath` refuse an
/// empty path or one not starting with `/`); the service refuses the rest.
pub(crate) fn path(name: impl Into<String>, value: &str) -> Result<(), ConfigError> {
    if value.len() < 2 || !value.starts_with('/') {
        return Err(invalid(
            name,
            value,
            "a document path starting with '/', such as \"/address/city\"",
        ));
    }
    Ok(())
}

/// A required text field (a name, a query, a procedure link) that must not be blank.
pub(crate) fn not_blank(name: impl Into<String>, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(invalid(name, value, "a non-empty value"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_start_with_a_slash_and_name_something() {
        assert!(path("p", "/a").is_ok());
        for bad in ["", "/", "a", "a/b"] {
            match path("indexingPolicy.includedPaths[0].path", bad) {
                Err(ConfigError::InvalidSetting { name, value, .. }) => {
                    assert_eq!(name, "indexingPolicy.includedPaths[0].path");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(not_blank("n", " ").is_err());
        assert!(not_blank("n", "x").is_ok());
    }
}
