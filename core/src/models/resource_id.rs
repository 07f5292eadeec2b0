//! Which ids (and database/container names) Cosmos DB accepts, checked before anything is sent.
//!
//! An id becomes a URL path segment. The service forbids `/`, `\`, `?` and `#` in ids and a
//! trailing space, and limits them to 255 characters ("Azure Cosmos DB service quotas",
//! per-item limits: "Maximum length of id: 1,023 bytes" for items, 255 characters for database
//! and container names; the .NET and Java SDKs reject `/ \ ? #` client-side). A URL layer would
//! also reinterpret an empty segment and the dot segments `.` and `..` (RFC 3986 §5.2.4,
//! WHATWG URL "single/double-dot path segment", which also decodes `%2e`): deleting item `..`
//! would address the container. Those are refused too, whatever the resource.

use crate::error::ConfigError;

/// Longest database or container name, in characters (service quota).
pub const MAX_NAME_CHARS: usize = 255;

/// Longest item id, in UTF-8 bytes (service quota "Maximum length of id": 1,023 bytes).
pub const MAX_ITEM_ID_BYTES: usize = 1_023;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceIdKind {
    /// A database name.
    Database,
    /// A container name.
    Container,
    /// An item id.
    Item,
    /// A user id.
    User,
    /// A permission id.
    Permission,
    /// A stored procedure, user-defined function or trigger id.
    Script,
    /// A conflict id.
    Conflict,
    /// An offer's resource id.
    Offer,
}

impl ResourceIdKind {
    /// `"database"`, `"container"`, `"item"`, `"user"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceIdKind::Database => "database",
            ResourceIdKind::Container => "container",
            ResourceIdKind::Item => "item",
            ResourceIdKind::User => "user",
            ResourceIdKind::Permission => "permission",
            ResourceIdKind::Script => "script",
            ResourceIdKind::Conflict => "conflict",
            ResourceIdKind::Offer => "offer",
        }
    }
}

/// The id as shown in an error: escaped, and cut after 64 characters.
fn shown(id: &str) -> String {
    crate::error::cut(id, 64)
}

/// Checks `id` against the service's and the URL layer's rules; the error names the kind, the
/// id and the rule.
pub fn validate_resource_id(kind: ResourceIdKind, id: &str) -> Result<(), ConfigError> {
    let reason = if id.is_empty() {
        Some("it is empty".to_string())
    } else if id == "." || id == ".." {
        Some("a URL layer would read it as a relative path segment".to_string())
    } else if let Some(c) = id
        .bytes()
        // ASCII: in UTF-8 these bytes only ever encode these characters.
        .find(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
        .map(char::from)
    {
        Some(format!(
            "it contains {c:?}, which Cosmos DB does not allow in ids"
        ))
    } else if id.ends_with(' ') {
        Some("it ends with a space, which Cosmos DB does not allow".to_string())
    } else if kind == ResourceIdKind::Item && id.len() > MAX_ITEM_ID_BYTES {
        Some(format!(
            "it is {} bytes long; the limit is {MAX_ITEM_ID_BYTES}",
            id.len()
        ))
    } else if kind != ResourceIdKind::Item
        // No more characters than bytes: count them only when the bytes exceed the limit.
        && id.len() > MAX_NAME_CHARS
        && id.chars().count() > MAX_NAME_CHARS
    {
        Some(format!(
            "it is {} characters long; the limit is {MAX_NAME_CHARS}",
            id.chars().count()
        ))
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(ConfigError::InvalidResourceId {
            kind: kind.as_str(),
            id: shown(id),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ids_are_refused_by_name() {
        let long_name = "n".repeat(MAX_NAME_CHARS + 1);
        let long_id = "i".repeat(MAX_ITEM_ID_BYTES + 1);
        let cases: &[(ResourceIdKind, &str, &str)] = &[
            (ResourceIdKind::Item, "", "empty"),
            (ResourceIdKind::Item, ".", "relative path"),
            (ResourceIdKind::Item, "..", "relative path"),
            (ResourceIdKind::Database, "..", "relative path"),
            (ResourceIdKind::Item, "a/b", "'/'"),
            (ResourceIdKind::Item, "a\\b", "'\\\\'"),
            (ResourceIdKind::Item, "a?b", "'?'"),
            (ResourceIdKind::Container, "a#b", "'#'"),
            (ResourceIdKind::Item, "trailing ", "space"),
            (ResourceIdKind::Container, &long_name, "256 characters"),
            (ResourceIdKind::Item, &long_id, "1024 bytes"),
        ];
        for (kind, id, needle) in cases {
            let e = validate_resource_id(*kind, id).unwrap_err().to_string();
            assert!(e.contains(needle), "{id:?}: {e}");
            assert!(e.contains(kind.as_str()), "{e}");
            assert!(e.len() < 300, "long ids are cut in messages: {e}");
        }
    }

    #[test]
    fn awkward_but_valid_ids_pass() {
        for id in [
            "plain",
            "with space",
            " leading space",
            "unicodé-😀",
            "plus+equals=percent%20",
            "a..b",
            "...",
            ".hidden",
            &"x".repeat(MAX_NAME_CHARS),
        ] {
            validate_resource_id(ResourceIdKind::Item, id).unwrap();
            validate_resource_id(ResourceIdKind::Container, id).unwrap();
        }
    }
}
