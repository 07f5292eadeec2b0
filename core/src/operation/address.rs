//! [`Address`]: an operation's resource link or URL path, built for it or shared with its
//! container reference.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A resource link or URL path. An item feed (create, upsert, query, batch, change feed) signs
/// its container's link exactly as the container reference keeps it: sharing that string
/// instead of copying it saves the operation an allocation. Compared, it is its text.
#[derive(Clone)]
pub(crate) enum Address {
    /// Built for this operation.
    Own(String),
    /// The container reference's own string.
    Shared(Arc<str>),
}

impl Deref for Address {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Address::Own(s) => s,
            Address::Shared(s) => s,
        }
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Address {}

impl From<String> for Address {
    fn from(s: String) -> Self {
        Address::Own(s)
    }
}

impl Default for Address {
    fn default() -> Self {
        Address::Own(String::new())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_shared_read_and_print_alike() {
        let own = Address::from("dbs/db/colls/c".to_owned());
        let shared = Address::Shared(Arc::from("dbs/db/colls/c"));
        assert_eq!(&*own, &*shared);
        assert_eq!(own, shared, "compared by text, whoever owns it");
        assert_eq!(format!("{own:?} {own}"), format!("{shared:?} {shared}"));
        assert_eq!(format!("{own:?}"), "\"dbs/db/colls/c\"");
        assert_eq!(&*Address::default(), "");
    }
}
