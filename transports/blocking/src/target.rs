//! The request an error message names (`GET http://host:port/path`), kept as text from before
//! the request moves into ureq.
//!
//! Only a failed attempt reads it, so it is copied onto the stack rather than shared: cloning
//! the `Uri` raised and later dropped the shared counts of its authority and path, four atomic
//! read-modify-writes on every attempt (issue 9, docs/PERFORMANCE.md). A URL longer than the
//! room (rare: ids and names of usual length leave most of it free) is formatted instead.

use std::fmt::Write as _;

use http::{Method, Uri};

/// Room for `METHOD URL`: the attempt URLs the core keeps inline are up to 232 bytes
/// (`diagnostics::record::AttemptUrl`), plus the method and a space.
const ROOM: usize = 256;

/// `METHOD URL`, as `format!("{method} {uri}")` writes it.
// The short form is large on purpose: it lives on the stack for one attempt, and boxing it
// would be the allocation this type exists to avoid.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Target {
    /// Copied onto the stack.
    Short { len: usize, bytes: [u8; ROOM] },
    /// Formatted: too long for the room.
    Long(String),
}

impl Target {
    pub(crate) fn new(method: &Method, uri: &Uri) -> Target {
        // The pieces `Uri`'s `Display` writes, in its order.
        let scheme = uri.scheme_str();
        let authority = uri.authority().map(|a| a.as_str());
        let query = uri.query();
        let pieces = [
            method.as_str(),
            " ",
            scheme.unwrap_or(""),
            if scheme.is_some() { "://" } else { "" },
            authority.unwrap_or(""),
            uri.path(),
            if query.is_some() { "?" } else { "" },
            query.unwrap_or(""),
        ];
        let mut bytes = [0u8; ROOM];
        let mut len = 0;
        for piece in pieces {
            let end = len + piece.len();
            match bytes.get_mut(len..end) {
                Some(slot) => slot.copy_from_slice(piece.as_bytes()),
                None => {
                    let mut s = String::new();
                    let _ = write!(s, "{method} {uri}");
                    return Target::Long(s);
                }
            }
            len = end;
        }
        Target::Short { len, bytes }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Whole `str`s were copied in: the check cannot fail.
            Target::Short { len, bytes } => bytes
                .get(..*len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Target::Long(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text is the one `format!("{method} {uri}")` gives, on the stack or not.
    #[test]
    fn the_target_reads_as_the_formatted_method_and_uri() {
        let long = format!(
            "http://127.0.0.1:8081/dbs/db/colls/c/docs/{}",
            "x".repeat(300)
        );
        let cases = [
            (
                Method::GET,
                "http://127.0.0.1:8081/dbs/db/colls/c/docs/item-1",
            ),
            (
                Method::POST,
                "https://acct-westus.documents.azure.com:443/dbs/d%20b/colls/c/docs",
            ),
            (Method::PUT, "http://localhost/dbs/db?x=1&y=%2F"),
            (Method::DELETE, "http://[::1]:8081/"),
            (Method::GET, "/relative/path"),
            (Method::GET, long.as_str()),
        ];
        for (method, text) in cases {
            let uri: Uri = text.parse().unwrap();
            let target = Target::new(&method, &uri);
            assert_eq!(target.as_str(), format!("{method} {uri}"), "{text}");
            let short = text.len() < 200;
            assert_eq!(matches!(target, Target::Short { .. }), short, "{text}");
        }
    }
}
