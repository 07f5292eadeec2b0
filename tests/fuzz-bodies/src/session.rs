//! `session_token`: [`SessionTokenHeader::parse`], merges, and [`SessionContainer::capture`].

use super::{ensure, Violation};
use sextant_core::session::{SessionContainer, SessionTokenHeader, SessionTokenValue};

const T: &str = "session_token";

/// Most lines decoded from one input.
const MAX_LINES: usize = 32;
const LINKS: [&str; 3] = ["dbs/db/colls/a", "/dbs/db/colls/b/", "dbs/db/colls/c"];

/// The input is lossy UTF-8, one header value per line. Checks, for every line that parses:
/// Display then parse gives an equal header; every pair of values of adjacent headers merges
/// commutatively, idempotently, and into a token as recent as both; capturing every line into
/// a small [`SessionContainer`] (so eviction runs) keeps its bounds and the tokens it hands out
/// parse again.
pub fn session_token(data: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(data);
    let mut parsed: Vec<SessionTokenHeader> = Vec::new();
    let mut store = SessionContainer::with_limits(2, 3);
    for (i, line) in text.split('\n').take(MAX_LINES).enumerate() {
        let link = LINKS[i % LINKS.len()];
        let captured = store.capture(link, line);
        let header = SessionTokenHeader::parse(line);
        if let Err(e) = &header {
            ensure!(
                T,
                captured.as_ref() == Err(e),
                "{line:?} does not parse ({e}) but capture says {captured:?}"
            );
        }
        check_store(&store, link)?;
        let Ok(header) = header else { continue };
        let printed = header.to_string();
        match SessionTokenHeader::parse(&printed) {
            Ok(again) => ensure!(
                T,
                again == header,
                "{line:?} printed as {printed:?} parses to a different header"
            ),
            Err(e) => {
                return Err(Violation::new(
                    T,
                    format!("{line:?} printed as {printed:?} does not parse: {e}"),
                ))
            }
        }
        if let Some(first) = header.entries().first() {
            let _ = header.local_token(first.range_id(), &["0", "1"]);
        }
        parsed.push(header);
    }
    for pair in parsed.windows(2) {
        let [a, b] = pair else { continue };
        for x in a.entries() {
            for y in b.entries().iter().take(8) {
                check_merge(x.value(), y.value())?;
            }
        }
    }
    Ok(())
}

fn check_merge(a: &SessionTokenValue, b: &SessionTokenValue) -> Result<(), Violation> {
    let ab = a.merge(b);
    let ba = b.merge(a);
    ensure!(
        T,
        ab.is_ok() == ba.is_ok(),
        "merge is not symmetric: {a} with {b} gives {ab:?}, the reverse {ba:?}"
    );
    if let (Ok(x), Ok(y)) = (&ab, &ba) {
        ensure!(
            T,
            x == y,
            "merge is not commutative: {a} + {b} = {x}, {b} + {a} = {y}"
        );
        for side in [a, b] {
            ensure!(
                T,
                x.is_as_recent_as(side) == Ok(true),
                "merge {x} of {a} and {b} is not as recent as {side}: {:?}",
                x.is_as_recent_as(side)
            );
        }
    }
    ensure!(
        T,
        a.merge(a).as_ref() == Ok(a),
        "merging {a} with itself gives {:?}",
        a.merge(a)
    );
    Ok(())
}

fn check_store(store: &SessionContainer, link: &str) -> Result<(), Violation> {
    ensure!(
        T,
        store.container_count() <= 2,
        "{} containers kept with a limit of 2",
        store.container_count()
    );
    ensure!(
        T,
        store.range_count(link) <= 3,
        "{} ranges kept with a limit of 3",
        store.range_count(link)
    );
    // Only checked within the header length limit: the limit on ranges bounds the entries,
    // not their length.
    let all = store
        .token_for(link, None)
        .filter(|all| all.len() <= sextant_core::session::MAX_HEADER_LEN);
    if let Some(all) = all {
        let parsed = SessionTokenHeader::parse(&all);
        ensure!(
            T,
            parsed.is_ok(),
            "token_for({link:?}, None) = {all:?} does not parse: {parsed:?}"
        );
        if let Ok(h) = parsed {
            for e in h.entries() {
                let one = store.token_for(link, Some(e.range_id()));
                ensure!(
                    T,
                    one.as_deref() == Some(e.to_string().as_str()),
                    "token_for({link:?}, {:?}) = {one:?}, expected {e}",
                    e.range_id()
                );
                let via_parents = store.token_for_range_with_parents(link, "new", &[e.range_id()]);
                ensure!(
                    T,
                    via_parents.is_some(),
                    "no token for a child of {:?}",
                    e.range_id()
                );
            }
        }
    }
    Ok(())
}
