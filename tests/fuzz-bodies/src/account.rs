//! `account_properties`: [`AccountProperties::parse`] on raw bytes (a `GET /` body).

use super::{ensure, Violation};
use sextant_core::models::{AccountProperties, AccountReference};

const T: &str = "account_properties";

/// Any key works: only the endpoint normalization is exercised.
const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DF2nQ9nq9MP4zNw8jHZoCzCW/WrPXgJ6hLZ/s7SPb1uEIL2Wmw==";

/// Parses the input as an account body. When it parses, every advertised region endpoint must
/// be normalized (ends with `/`, normalizing it again changes nothing) and must form a valid
/// request URI once a resource path is appended (the core builds every attempt's URL that way).
pub fn account_properties(data: &[u8]) -> Result<(), Violation> {
    let Ok(p) = AccountProperties::parse(data) else {
        return Ok(());
    };
    for r in p.writable_regions.iter().chain(&p.readable_regions) {
        ensure!(
            T,
            r.endpoint.ends_with('/'),
            "endpoint {:?} does not end with '/'",
            r.endpoint
        );
        match AccountReference::with_master_key(&r.endpoint, KEY) {
            Ok(a) => ensure!(
                T,
                a.endpoint() == r.endpoint,
                "normalizing {:?} again gives {:?}",
                r.endpoint,
                a.endpoint()
            ),
            Err(e) => {
                return Err(Violation::new(
                    T,
                    format!("normalized endpoint {:?} is rejected: {e}", r.endpoint),
                ))
            }
        }
        let url = format!("{}dbs/db/colls/c/docs/item%201", r.endpoint);
        ensure!(
            T,
            url.parse::<http::Uri>().is_ok(),
            "region endpoint {:?} does not form a valid request URI ({url:?})",
            r.endpoint
        );
    }
    let _ = format!("{p:?}");
    Ok(())
}
