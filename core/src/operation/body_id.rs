//! The top-level `"id"` of an item body, read before a create, upsert or replace is sent so that
//! an id that cannot be a URL path segment is refused (issue 10, point 1).
//!
//! Reading stops at the `id` member. The rest of the document is the service's to parse, and an
//! item usually starts with its id: reading the whole body of a small item cost about 2.9k
//! instructions per write (callgrind, e2e create c=1), most of the core's extra cost on a create.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// The top-level `"id"` of a JSON object, when it is a string; `None` when the body is not an
/// object, has no `id` before the first member it cannot read, or its `id` is not a string.
/// The first `id` member is the one returned. Members after it are not read, so a body broken
/// after its id still has its id checked (the service refuses the body itself).
pub(crate) fn body_id(body: &[u8]) -> Option<Cow<'_, str>> {
    let mut id = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    // Stopping at the id leaves the object unfinished, which the deserializer reports as an
    // error after the visitor returned: expected, and ignored. The id was kept before it.
    let _unfinished = de.deserialize_map(FindId(&mut id));
    id
}

/// Reads members until `id`, keeping its value in the slot.
struct FindId<'s, 'de>(&'s mut Option<Cow<'de, str>>);

impl<'de> Visitor<'de> for FindId<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(IsId(is_id)) = map.next_key()? {
            if is_id {
                *self.0 = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0);
                return Ok(());
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A member name, read only to compare it with `id` (nothing is allocated for it).
struct IsId(bool);

impl<'de> Deserialize<'de> for IsId {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IsId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IsId, E> {
                Ok(IsId(v == "id"))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string, borrowed from the body when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use super::*;

    fn id(body: &str) -> Option<String> {
        body_id(body.as_bytes()).map(Cow::into_owned)
    }

    #[test]
    fn finds_the_top_level_id_wherever_it_is() {
        assert_eq!(id(r#"{"id":"a","pk":"p"}"#).as_deref(), Some("a"));
        assert_eq!(
            id(r#"{"pk":"p","n":[1,{"id":"x"}],"id":"b"}"#).as_deref(),
            Some("b")
        );
        assert_eq!(
            id(r#" { "o" : { "id" : "x" } , "id" : "c" } "#).as_deref(),
            Some("c")
        );
        // An escaped name or value is read like any other.
        assert_eq!(id(r#"{"i\u0064":"d\/e"}"#).as_deref(), Some("d/e"));
        // The first of two ids (the one a reader that stops there sees).
        assert_eq!(id(r#"{"id":"f","id":"g"}"#).as_deref(), Some("f"));
    }

    #[test]
    fn a_body_without_a_string_id_has_none() {
        for body in [
            r#"{"pk":"p"}"#,
            r#"{"id":5}"#,
            r#"{"id":null}"#,
            r#"{"id":{"x":"y"}}"#,
            r#"["id","a"]"#,
            r#""id""#,
            "",
            "{",
            r#"{"pk":"#,
            r#"{"pk" "id":"a"}"#,
            // Only a member name counts: "id" as a value is not the id.
            r#"{"x":"id"}"#,
        ] {
            assert_eq!(id(body), None, "{body}");
        }
    }

    #[test]
    fn members_after_the_id_are_not_read() {
        // Broken after the id: the id is still found (and checked); the service refuses the body.
        assert_eq!(id(r#"{"id":"a", oops"#).as_deref(), Some("a"));
        assert_eq!(id(r#"{"id":"a"} trailing"#).as_deref(), Some("a"));
    }

    #[test]
    fn an_unescaped_id_is_borrowed_from_the_body() {
        let body = br#"{"id":"plain"}"#;
        assert!(matches!(body_id(body), Some(Cow::Borrowed("plain"))));
    }
}
