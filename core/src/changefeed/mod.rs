//! The change feed, pull model (PROTOCOL.md §9): the changes of a container, a feed range or
//! one partition key, in latest-version or all-versions-and-deletes mode, from the beginning,
//! now, a point in time or a continuation token.
//!
//! A page is one execution of the core (ADR 0005, a *job*): it reads the routing map, asks every
//! range of the scope for its changes since its own etag (in parallel), and returns what they
//! had, in range order. A range with nothing new answers 304, which is not an error: the page
//! is then empty ([`ChangeFeedPage::is_caught_up`]) and the feed is polled again later. The
//! continuation token holds every range's etag by EPK bounds, so it survives splits (a parent's
//! etag continues on each child) and resumes in a fresh process on any transport.

pub(crate) mod operation;
mod pager;
pub mod processor;
pub(crate) mod state;

pub use operation::{ChangeFeedMode, ChangeFeedStart};
pub use pager::{ChangeFeedPage, ChangeFeedPager};
pub use state::CHANGE_FEED_TOKEN_PREFIX;

/// The physical parts of a change-feed token: `(min, max, token scoped to that range)` per
/// range it reads (more than one after its range split). Empty for a token this version cannot
/// read, for one whose positions do not tile its feed, and for a partition key's feed (read by
/// key, not by range).
pub fn token_parts(token: &str) -> Vec<(String, String, String)> {
    state::FeedState::parts(token)
}
