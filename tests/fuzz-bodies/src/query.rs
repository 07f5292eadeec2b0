//! `query_plan`, `query_page` and `feed_token`: the parsers a cross-partition query feeds with
//! bytes from the service (plan, per-range pages) and from callers (continuation tokens).

use sextant_core::feed::plan::{page_rows, read_plan, Shape, MAX_ROWS_PER_PAGE};
use sextant_core::feed::token::{fingerprint, FeedToken, MAX_TOKEN_BYTES};

use super::{ensure, Violation};

/// A plan either parses into a consistent view or is an error; nothing panics. When it parses:
/// every range is non-empty-bounded text, an ORDER BY plan has at least one direction, and the
/// rewritten query has no unsubstituted filter placeholder.
pub fn query_plan(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "query_plan";
    let Ok(p) = read_plan(data) else {
        return Ok(());
    };
    if let Shape::OrderBy(dirs) = &p.shape {
        ensure!(T, !dirs.is_empty(), "an ORDER BY shape without keys");
    }
    if let Some(q) = &p.rewritten {
        ensure!(
            T,
            !q.contains("{documentdb-formattableorderbyquery-filter}"),
            "the filter placeholder survived: {q:?}"
        );
    }
    ensure!(T, p.ranges.len() <= 10_000, "{} ranges", p.ranges.len());
    Ok(())
}

/// A page body parses into at most `MAX_ROWS_PER_PAGE` rows or is an error.
pub fn query_page(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "query_page";
    if let Ok(rows) = page_rows(data) {
        ensure!(T, rows.len() <= MAX_ROWS_PER_PAGE, "{} rows", rows.len());
    }
    Ok(())
}

/// A token decodes (for the fingerprint it names) or is an error that never echoes more than
/// the bound; a decoded token re-encodes to a token that decodes to the same value.
pub fn feed_token(data: &[u8]) -> Result<(), Violation> {
    const T: &str = "feed_token";
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let fp = fingerprint(b"{\"query\":\"SELECT * FROM c\"}", "");
    match FeedToken::decode(text, &fp) {
        Ok(t) => {
            let again = t
                .encode()
                .map_err(|e| Violation::new(T, format!("a decoded token does not encode: {e}")))?;
            let back = FeedToken::decode(&again, &fp).map_err(|e| {
                Violation::new(T, format!("a re-encoded token does not decode: {e}"))
            })?;
            ensure!(T, back == t, "round trip changed the token");
        }
        Err(e) => {
            let msg = e.to_string();
            ensure!(
                T,
                msg.len() <= 2 * MAX_TOKEN_BYTES.min(4096),
                "an error of {} bytes",
                msg.len()
            );
        }
    }
    Ok(())
}
