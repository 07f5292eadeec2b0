//! The session token store: per container, per partition key range, the merged token of every
//! response seen (PROTOCOL.md §5; Java/.NET `SessionContainer`).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use super::error::SessionTokenError;
use super::header::SessionTokenHeader;
use super::token::SessionTokenValue;

/// Default bound on containers tracked; the oldest inserted is evicted first.
pub const DEFAULT_MAX_CONTAINERS: usize = 1024;
/// Default bound on ranges tracked per container; the oldest inserted is evicted first. It
/// equals the most entries a session-token header may carry ([`super::MAX_ENTRIES`]), so the
/// whole-container token of [`SessionContainer::token_for`]`(link, None)` never has too many
/// entries. It bounds entries, not bytes: 1,024 long V2 tokens can exceed the 64 KiB
/// [`super::MAX_HEADER_LEN`]; operations routed to one range send that range's token only.
pub const DEFAULT_MAX_RANGES_PER_CONTAINER: usize = 1024;

/// Session tokens per container and partition key range, bounded and deterministic (BTreeMap
/// order; eviction of the oldest inserted key, no clock, no hashing).
///
/// Containers are keyed by resource link; leading and trailing `/` are ignored, so
/// `"dbs/db/colls/c"` and `"/dbs/db/colls/c/"` are the same container. Names are
/// case-sensitive, as in the service.
#[derive(Debug, Clone)]
pub struct SessionContainer {
    containers: BTreeMap<String, RangeTokens>,
    /// Container keys in insertion order, for eviction.
    order: VecDeque<String>,
    max_containers: usize,
    max_ranges: usize,
}

#[derive(Debug, Clone, Default)]
struct RangeTokens {
    tokens: BTreeMap<String, SessionTokenValue>,
    /// Range ids in insertion order, for eviction.
    order: VecDeque<String>,
    /// The header value of the last [`SessionContainer::capture`] into these tokens if it was
    /// clean (no error, no eviction) and nothing changed them since; empty otherwise. Capturing
    /// that value again is a no-op (merging takes maxima), so it is skipped: a steady item's
    /// reads return the same token every time. The buffer is reused, not reallocated.
    last_clean: String,
    /// The `x-ms-session-token` value last rendered for range `rendered_range`'s own token (or,
    /// when `rendered_all`, for the whole container), until the tokens change
    /// ([`SessionContainer::header_for_range_with_parents`],
    /// [`SessionContainer::header_for_container`]).
    rendered: Option<http::HeaderValue>,
    /// The range `rendered` is for (the buffer is reused); unused when `rendered_all`.
    rendered_range: String,
    /// `rendered` is every range's token (`token_for(link, None)`), not one range's.
    rendered_all: bool,
}

impl Default for SessionContainer {
    fn default() -> Self {
        SessionContainer::new()
    }
}

impl SessionContainer {
    /// An empty store with the default bounds ([`DEFAULT_MAX_CONTAINERS`],
    /// [`DEFAULT_MAX_RANGES_PER_CONTAINER`]).
    pub fn new() -> SessionContainer {
        SessionContainer::with_limits(DEFAULT_MAX_CONTAINERS, DEFAULT_MAX_RANGES_PER_CONTAINER)
    }

    /// An empty store keeping at most `max_containers` containers and `max_ranges_per_container`
    /// ranges in each (each at least 1).
    pub fn with_limits(max_containers: usize, max_ranges_per_container: usize) -> SessionContainer {
        SessionContainer {
            containers: BTreeMap::new(),
            order: VecDeque::new(),
            max_containers: max_containers.max(1),
            max_ranges: max_ranges_per_container.max(1),
        }
    }

    /// Merges a response's `x-ms-session-token` header into the container's tokens. Call it for
    /// data-plane responses only (not account or metadata reads).
    ///
    /// A header that does not parse changes nothing and returns the parse error. Entries whose
    /// merge with the stored token fails (same version but different regions, or V1 meeting V2)
    /// replace the stored token — the newest response describes the partition as it is now — and
    /// the first such error is returned after every entry has been applied; the SDKs fail the
    /// request with 500 / `InvalidRegionsInSessionToken` there instead.
    pub fn capture(
        &mut self,
        container_link: &str,
        header_value: &str,
    ) -> Result<(), SessionTokenError> {
        if !header_value.is_empty()
            && self
                .containers
                .get(key(container_link))
                .is_some_and(|r| r.last_clean == header_value)
        {
            return Ok(());
        }
        let header = SessionTokenHeader::parse(header_value)?;
        let (result, ranges) = self.capture_entries(container_link, header);
        if let Some(ranges) = ranges {
            ranges.last_clean.push_str(header_value);
        }
        result
    }

    /// [`capture`](Self::capture) for a header already parsed.
    pub fn capture_header(
        &mut self,
        container_link: &str,
        header: SessionTokenHeader,
    ) -> Result<(), SessionTokenError> {
        self.capture_entries(container_link, header).0
    }

    /// Applies `header`'s entries. Also returns the container's tokens when the capture was
    /// clean (no error, no range evicted), for [`capture`](Self::capture) to remember the value.
    fn capture_entries(
        &mut self,
        container_link: &str,
        header: SessionTokenHeader,
    ) -> (Result<(), SessionTokenError>, Option<&mut RangeTokens>) {
        let max_ranges = self.max_ranges;
        let Some(ranges) = self.container_mut(container_link) else {
            return (Ok(()), None);
        };
        ranges.last_clean.clear();
        ranges.rendered = None;
        let mut evicted = false;
        let mut first_error = None;
        for entry in header.into_entries() {
            let (range_id, value) = entry.into_parts();
            if let Some(stored) = ranges.tokens.get_mut(&range_id) {
                match stored.merge(&value) {
                    Ok(merged) => *stored = merged,
                    Err(e) => {
                        *stored = value;
                        first_error.get_or_insert(e);
                    }
                }
                continue;
            }
            if ranges.tokens.len() >= max_ranges {
                if let Some(oldest) = ranges.order.pop_front() {
                    ranges.tokens.remove(&oldest);
                    evicted = true;
                }
            }
            ranges.order.push_back(range_id.clone());
            ranges.tokens.insert(range_id, value);
        }
        match first_error {
            Some(e) => (Err(e), None),
            None => (Ok(()), (!evicted).then_some(ranges)),
        }
    }

    /// The `x-ms-session-token` value to send: for `Some(range)` that range's `"<range>:<token>"`
    /// (or `None` if unknown — after a split use
    /// [`token_for_range_with_parents`](Self::token_for_range_with_parents)); for `None` (range
    /// not resolved) every range's token of the container, comma-separated in range id order.
    /// `None` when the container has no token.
    pub fn token_for(&self, container_link: &str, pk_range_id: Option<&str>) -> Option<String> {
        let ranges = self.containers.get(key(container_link))?;
        match pk_range_id {
            Some(id) => ranges.tokens.get(id).map(|token| format!("{id}:{token}")),
            None => {
                let mut out = String::new();
                for (id, token) in &ranges.tokens {
                    if !out.is_empty() {
                        out.push(',');
                    }
                    out.push_str(id);
                    out.push(':');
                    // Writing to a `String` cannot fail.
                    let _ = write!(out, "{token}");
                }
                (!out.is_empty()).then_some(out)
            }
        }
    }

    /// The token to send to range `range_id`, whose `parents` are listed as the pk-range feed
    /// lists them (oldest ancestor first). If the range has no token yet (it was just split
    /// off), the nearest ancestor's token is used, searching from the last parent to the first
    /// as Java's `SessionTokenHelper.resolvePartitionLocalSessionToken` does; the result still
    /// names `range_id` (`"<range_id>:<ancestor's token>"`), as the SDKs send it.
    pub fn token_for_range_with_parents(
        &self,
        container_link: &str,
        range_id: &str,
        parents: &[&str],
    ) -> Option<String> {
        let ranges = self.containers.get(key(container_link))?;
        let token = ranges
            .tokens
            .get(range_id)
            .or_else(|| parents.iter().rev().find_map(|p| ranges.tokens.get(*p)))?;
        Some(format!("{range_id}:{token}"))
    }

    /// [`token_for_range_with_parents`](Self::token_for_range_with_parents) as a header value
    /// (`None` also when it is not a valid one). The value for a range's own token is kept
    /// until the container's tokens change, so a steady container's reads render it once.
    pub(crate) fn header_for_range_with_parents(
        &mut self,
        container_link: &str,
        range_id: &str,
        parents: &[&str],
    ) -> Option<http::HeaderValue> {
        let ranges = self.containers.get_mut(key(container_link))?;
        if let Some(v) = ranges
            .rendered
            .as_ref()
            .filter(|_| !ranges.rendered_all && ranges.rendered_range == range_id)
        {
            return Some(v.clone());
        }
        let Some(token) = ranges.tokens.get(range_id) else {
            let token = parents.iter().rev().find_map(|p| ranges.tokens.get(*p))?;
            return http::HeaderValue::try_from(format!("{range_id}:{token}")).ok();
        };
        let v = http::HeaderValue::try_from(format!("{range_id}:{token}")).ok()?;
        ranges.rendered_range.clear();
        ranges.rendered_range.push_str(range_id);
        ranges.rendered_all = false;
        ranges.rendered = Some(v.clone());
        Some(v)
    }

    /// [`token_for`](Self::token_for)`(container_link, None)` (every range's token, for an
    /// operation whose range is not resolved) as a header value; `None` also when it is not a
    /// valid one. Kept until the container's tokens change, like a range's own value: rendering
    /// every token through `Display` was about 5 % of a point read's core cycle when partition
    /// routing is off or the container's ranges are unknown (perf, docs/PERFORMANCE.md). The
    /// kept value is the text of tokens the container already holds, so it is bounded by the
    /// same limits ([`DEFAULT_MAX_RANGES_PER_CONTAINER`] entries, one value per container).
    pub(crate) fn header_for_container(
        &mut self,
        container_link: &str,
    ) -> Option<http::HeaderValue> {
        let ranges = self.containers.get(key(container_link))?;
        if let Some(v) = ranges.rendered.as_ref().filter(|_| ranges.rendered_all) {
            return Some(v.clone());
        }
        let v = http::HeaderValue::try_from(self.token_for(container_link, None)?).ok()?;
        let ranges = self.containers.get_mut(key(container_link))?;
        ranges.rendered_all = true;
        ranges.rendered = Some(v.clone());
        Some(v)
    }

    /// The stored token of one range.
    pub fn token(&self, container_link: &str, pk_range_id: &str) -> Option<&SessionTokenValue> {
        self.containers
            .get(key(container_link))?
            .tokens
            .get(pk_range_id)
    }

    /// Forgets a container's tokens (e.g. after it was deleted and re-created). Returns whether
    /// it had any.
    pub fn remove_container(&mut self, container_link: &str) -> bool {
        let k = key(container_link);
        let removed = self.containers.remove(k).is_some();
        if removed {
            self.order.retain(|c| c != k);
        }
        removed
    }

    /// How many containers have tokens.
    pub fn container_count(&self) -> usize {
        self.containers.len()
    }

    /// How many ranges of a container have tokens.
    pub fn range_count(&self, container_link: &str) -> usize {
        self.containers
            .get(key(container_link))
            .map_or(0, |r| r.tokens.len())
    }

    /// The container's tokens, created (evicting the oldest container at the bound) if absent.
    /// Always `Some`; an `Option` only because the borrow checker cannot return the looked-up
    /// entry on one path and insert on the other without allocating the key on both.
    fn container_mut(&mut self, container_link: &str) -> Option<&mut RangeTokens> {
        let k = key(container_link);
        if !self.containers.contains_key(k) {
            if self.containers.len() >= self.max_containers {
                if let Some(oldest) = self.order.pop_front() {
                    self.containers.remove(&oldest);
                }
            }
            self.order.push_back(k.to_owned());
            return Some(self.containers.entry(k.to_owned()).or_default());
        }
        self.containers.get_mut(k)
    }
}

/// The map key of a container link: without leading and trailing `/`.
fn key(container_link: &str) -> &str {
    // Byte-wise: `/` is ASCII, so both cut points are character boundaries (`trim_matches`
    // decodes characters from both ends, about twice the work on every data-plane request).
    let b = container_link.as_bytes();
    let start = b.iter().position(|&c| c != b'/').unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != b'/').map_or(start, |i| i + 1);
    container_link.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_trims_slashes_at_both_ends_only() {
        assert_eq!(key("/dbs/d/colls/c/"), "dbs/d/colls/c");
        assert_eq!(key("dbs/d/colls/c"), "dbs/d/colls/c");
        assert_eq!(key("//dbs/é/colls/c//"), "dbs/é/colls/c");
        assert_eq!(key("///"), "");
        assert_eq!(key(""), "");
    }

    fn header(s: &mut SessionContainer, range: &str) -> Option<String> {
        s.header_for_range_with_parents("dbs/d/colls/c", range, &[])
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    #[test]
    fn a_repeated_clean_capture_and_the_kept_header_follow_every_change() {
        let mut s = SessionContainer::new();
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#100#1=20"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#100#1=20"));
        // The same value again is skipped and changes nothing.
        assert_eq!(s.capture("/dbs/d/colls/c/", "0:1#100#1=20"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#100#1=20"));
        // A newer value is merged and the kept header follows it.
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#101#1=21"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#101#1=21"));
        // An older value after it is not skipped by mistake: merged, the newer LSNs stay.
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#100#1=20"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#101#1=21"));
        // A capture of a pre-parsed header forgets the remembered value.
        let parsed = SessionTokenHeader::parse("0:1#102#1=22");
        assert!(parsed.is_ok());
        if let Ok(h) = parsed {
            assert_eq!(s.capture_header("dbs/d/colls/c", h), Ok(()));
        }
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#102#1=22"));
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#101#1=21"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#102#1=22"));
        // A conflicting value replaces the token and is reported; it is not remembered as
        // clean, so repeating it is a full capture (which now merges without conflict).
        assert!(s.capture("dbs/d/colls/c", "0:1#103#2=5").is_err());
        assert!(s
            .containers
            .get("dbs/d/colls/c")
            .is_some_and(|r| r.last_clean.is_empty()));
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#103#2=5"), Ok(()));
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#103#2=5"));
        // Another range, and a range known only through its parent, are not served the kept value.
        assert_eq!(header(&mut s, "1"), None);
        assert_eq!(
            s.header_for_range_with_parents("dbs/d/colls/c", "1", &["0"])
                .and_then(|v| v.to_str().ok().map(str::to_owned))
                .as_deref(),
            Some("1:1#103#2=5")
        );
    }

    #[test]
    fn the_kept_whole_container_header_follows_every_change_and_is_not_a_ranges() {
        let mut s = SessionContainer::new();
        let all = |s: &mut SessionContainer| {
            s.header_for_container("dbs/d/colls/c")
                .and_then(|v| v.to_str().ok().map(str::to_owned))
        };
        assert_eq!(all(&mut s), None);
        assert_eq!(s.capture("dbs/d/colls/c", "0:1#100#1=20,1:1#7#1=3"), Ok(()));
        assert_eq!(all(&mut s).as_deref(), Some("0:1#100#1=20,1:1#7#1=3"));
        // Kept: the same value again, equal to `token_for`.
        assert_eq!(all(&mut s).as_deref(), Some("0:1#100#1=20,1:1#7#1=3"));
        assert_eq!(all(&mut s), s.token_for("dbs/d/colls/c", None));
        // A range's own header is not served the whole-container value, nor the reverse.
        assert_eq!(header(&mut s, "0").as_deref(), Some("0:1#100#1=20"));
        assert_eq!(all(&mut s).as_deref(), Some("0:1#100#1=20,1:1#7#1=3"));
        assert_eq!(header(&mut s, "1").as_deref(), Some("1:1#7#1=3"));
        // A change is followed.
        assert_eq!(s.capture("dbs/d/colls/c", "1:1#8#1=4"), Ok(()));
        assert_eq!(all(&mut s).as_deref(), Some("0:1#100#1=20,1:1#8#1=4"));
        assert_eq!(s.capture("dbs/d/colls/c", "2:1#3#1=1"), Ok(()));
        assert_eq!(
            all(&mut s).as_deref(),
            Some("0:1#100#1=20,1:1#8#1=4,2:1#3#1=1")
        );
        assert!(s.remove_container("dbs/d/colls/c"));
        assert_eq!(all(&mut s), None);
    }
}
