//! The location cache: account regions ordered by preference and health.
//!
//! Preferred regions reorder, per-operation excluded regions filter, and unavailable regions move
//! to the end for a TTL (they are never removed, so a fully degraded account still gets tried).
//! Reads fail over across every readable region even when no preference is configured (the top
//! complaint about the .NET SDK: #1109, #4639, #4665). Writes go to the first write region, or on
//! multi-write accounts to the write regions in preference order.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::models::{AccountProperties, AccountRegion};

/// A region and its endpoint, as routed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRoute {
    /// Region name (empty for the account's global endpoint).
    pub name: Arc<str>,
    /// Endpoint, ending with `/`.
    pub endpoint: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    endpoint: Arc<str>,
    reads_until: Option<Instant>,
    writes_until: Option<Instant>,
}

/// Regions of one account with their health.
#[derive(Debug, Clone)]
pub struct LocationCache {
    global: RegionRoute,
    read: Vec<RegionRoute>,
    write: Vec<RegionRoute>,
    /// `read` in preference order (preferred regions first, then the rest, no duplicates):
    /// computed once per metadata update instead of per attempt.
    read_ordered: Vec<RegionRoute>,
    /// `write` in preference order, as `read_ordered`.
    write_ordered: Vec<RegionRoute>,
    /// The first write region alone (single-write accounts' writes), in a list of its own.
    write_first: Vec<RegionRoute>,
    multi_write: bool,
    preferred: Vec<String>,
    unavailable_ttl: Duration,
    marks: Vec<Mark>,
}

/// Bound on remembered unhealthy endpoints (an account has at most a few dozen regions).
const MAX_MARKS: usize = 64;

fn routes(list: &[AccountRegion]) -> Vec<RegionRoute> {
    list.iter()
        .map(|r| RegionRoute {
            name: Arc::from(r.name.as_str()),
            endpoint: Arc::from(r.endpoint.as_str()),
        })
        .collect()
}

impl LocationCache {
    /// A cache that knows only the account's global endpoint.
    pub fn new(global_endpoint: &str, preferred: Vec<String>, unavailable_ttl: Duration) -> Self {
        LocationCache {
            global: RegionRoute {
                name: Arc::from(""),
                endpoint: Arc::from(global_endpoint),
            },
            read: Vec::new(),
            write: Vec::new(),
            read_ordered: Vec::new(),
            write_ordered: Vec::new(),
            write_first: Vec::new(),
            multi_write: false,
            preferred,
            unavailable_ttl,
            marks: Vec::new(),
        }
    }

    /// Applies fresh account metadata. Health marks survive refreshes (a region that failed a
    /// moment ago is still suspect even if the account still lists it).
    pub fn update(&mut self, props: &AccountProperties) {
        self.read = routes(&props.readable_regions);
        self.write = routes(&props.writable_regions);
        self.multi_write = props.multiple_write_locations && self.write.len() > 1;
        self.read_ordered = self.preference_order(&self.read);
        self.write_ordered = self.preference_order(&self.write);
        self.write_first = self.write.get(..1).unwrap_or(&[]).to_vec();
    }

    /// `base` with the preferred regions first (in the given order), then the rest in account
    /// order, without duplicates.
    fn preference_order(&self, base: &[RegionRoute]) -> Vec<RegionRoute> {
        let mut ordered: Vec<RegionRoute> = Vec::with_capacity(base.len());
        for p in &self.preferred {
            if let Some(r) = base.iter().find(|r| r.name.eq_ignore_ascii_case(p)) {
                if !ordered.contains(r) {
                    ordered.push(r.clone());
                }
            }
        }
        for r in base {
            if !ordered.contains(r) {
                ordered.push(r.clone());
            }
        }
        ordered
    }

    /// The account's global endpoint.
    pub fn global(&self) -> &RegionRoute {
        &self.global
    }

    /// True when writes may go to several regions (and need `x-ms-cosmos-allow-tentative-writes`).
    pub fn multi_write(&self) -> bool {
        self.multi_write
    }

    /// The hub: the first write region (account order), or the global endpoint.
    pub fn hub(&self) -> RegionRoute {
        self.write
            .first()
            .cloned()
            .unwrap_or_else(|| self.global.clone())
    }

    fn unavailable(&self, endpoint: &str, for_writes: bool, now: Instant) -> bool {
        self.marks.iter().any(|m| {
            &*m.endpoint == endpoint && {
                let until = if for_writes {
                    m.writes_until
                } else {
                    m.reads_until
                };
                until.is_some_and(|u| now < u)
            }
        })
    }

    /// Candidate routes for an operation, in the order they should be tried.
    ///
    /// Reads: readable regions; writes: the first write region on single-write accounts, every
    /// write region on multi-write accounts. Preferred regions first (in the given order), then
    /// the rest in account order; regions excluded for this operation are dropped; unhealthy
    /// ones move to the end. Never empty: without metadata (or when everything is excluded)
    /// the global endpoint or the hub is used.
    pub fn candidates(
        &self,
        for_writes: bool,
        excluded: &[String],
        now: Instant,
    ) -> Cow<'_, [RegionRoute]> {
        let (base, ordered): (&[RegionRoute], &[RegionRoute]) = match (for_writes, self.multi_write)
        {
            (true, true) => (&self.write, &self.write_ordered),
            (true, false) => (self.write.get(..1).unwrap_or(&[]), &self.write_first),
            (false, _) => (&self.read, &self.read_ordered),
        };
        if base.is_empty() {
            return Cow::Borrowed(std::slice::from_ref(&self.global));
        }
        // Usually nothing is excluded and every region is healthy: the precomputed order as is
        // (no allocation).
        let healthy = |r: &RegionRoute| !self.unavailable(&r.endpoint, for_writes, now);
        if excluded.is_empty() && (self.marks.is_empty() || ordered.iter().all(healthy)) {
            return Cow::Borrowed(ordered);
        }
        let mut ordered = ordered.to_vec();
        ordered.retain(|r| !excluded.iter().any(|x| r.name.eq_ignore_ascii_case(x)));
        if ordered.is_empty() {
            // Everything excluded: .NET falls back to the primary region rather than failing.
            return Cow::Owned(vec![self.hub()]);
        }
        if self.marks.is_empty() || ordered.iter().all(healthy) {
            return Cow::Owned(ordered);
        }
        // Stable partition: healthy first, unhealthy after, each in preference order.
        let (mut healthy, sick): (Vec<_>, Vec<_>) = ordered.into_iter().partition(healthy);
        healthy.extend(sick);
        Cow::Owned(healthy)
    }

    /// True when an operation has more than one region to choose from (no allocation: used on
    /// every attempt to decide whether hedging can apply).
    pub fn has_alternatives(&self, for_writes: bool, excluded: &[String]) -> bool {
        let base: &[RegionRoute] = match (for_writes, self.multi_write) {
            (true, true) => &self.write,
            (true, false) => return false,
            (false, _) => &self.read,
        };
        base.iter()
            .filter(|r| !excluded.iter().any(|x| r.name.eq_ignore_ascii_case(x)))
            .nth(1)
            .is_some()
    }

    /// Marks `endpoint` unavailable for reads and/or writes until `now + ttl`.
    pub fn mark_unavailable(&mut self, endpoint: &str, reads: bool, writes: bool, now: Instant) {
        let until = crate::now::instant_after(now, self.unavailable_ttl);
        self.marks.retain(|m| {
            m.reads_until.is_some_and(|u| now < u) || m.writes_until.is_some_and(|u| now < u)
        });
        if let Some(m) = self.marks.iter_mut().find(|m| &*m.endpoint == endpoint) {
            if reads {
                m.reads_until = Some(until);
            }
            if writes {
                m.writes_until = Some(until);
            }
            return;
        }
        if self.marks.len() >= MAX_MARKS {
            self.marks.remove(0);
        }
        self.marks.push(Mark {
            endpoint: Arc::from(endpoint),
            reads_until: reads.then_some(until),
            writes_until: writes.then_some(until),
        });
    }

    /// Endpoints currently marked unavailable (for diagnostics and tests).
    pub fn unavailable_endpoints(&self, now: Instant) -> Vec<Arc<str>> {
        self.marks
            .iter()
            .filter(|m| {
                m.reads_until.is_some_and(|u| now < u) || m.writes_until.is_some_and(|u| now < u)
            })
            .map(|m| m.endpoint.clone())
            .collect()
    }

    /// Routes to try for the account read itself: the global endpoint, then every known region
    /// (Java's `getDatabaseAccountFromAnyLocation`), so a dead global endpoint does not stop
    /// metadata refreshes.
    pub fn account_read_candidates(&self) -> Vec<RegionRoute> {
        let mut out = vec![self.global.clone()];
        for r in self.read.iter().chain(self.write.iter()) {
            if !out.iter().any(|o| o.endpoint == r.endpoint) {
                out.push(r.clone());
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock
mod tests {
    use super::*;
    use crate::models::AccountRegion;

    fn region(name: &str) -> AccountRegion {
        AccountRegion {
            name: name.into(),
            endpoint: format!(
                "https://a-{}.example/",
                name.replace(' ', "").to_lowercase()
            ),
        }
    }

    fn cache(preferred: &[&str], multi: bool) -> LocationCache {
        let mut c = LocationCache::new(
            "https://a.example/",
            preferred.iter().map(|s| s.to_string()).collect(),
            Duration::from_secs(300),
        );
        c.update(&AccountProperties {
            writable_regions: vec![region("West"), region("East")],
            readable_regions: vec![region("West"), region("East"), region("North")],
            multiple_write_locations: multi,
            ..Default::default()
        });
        c
    }

    fn names(v: &[RegionRoute]) -> Vec<&str> {
        v.iter().map(|r| &*r.name).collect()
    }

    #[test]
    fn reads_use_every_region_in_account_order_without_preferences() {
        let c = cache(&[], false);
        let now = Instant::now();
        assert_eq!(
            names(&c.candidates(false, &[], now)),
            ["West", "East", "North"]
        );
        assert_eq!(
            names(&c.candidates(true, &[], now)),
            ["West"],
            "single-write: the hub only"
        );
    }

    #[test]
    fn preferred_reorder_and_excluded_filter() {
        let c = cache(&["north", "East"], true);
        let now = Instant::now();
        assert_eq!(
            names(&c.candidates(false, &[], now)),
            ["North", "East", "West"]
        );
        assert_eq!(names(&c.candidates(true, &[], now)), ["East", "West"]);
        assert_eq!(
            names(&c.candidates(false, &["North".into()], now)),
            ["East", "West"]
        );
        let all: Vec<String> = ["West", "East", "North"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            names(&c.candidates(false, &all, now)),
            ["West"],
            "all excluded: the hub"
        );
    }

    #[test]
    fn unavailable_regions_move_to_the_end_for_the_ttl() {
        let mut c = cache(&[], false);
        let now = Instant::now();
        c.mark_unavailable("https://a-west.example/", true, false, now);
        assert_eq!(
            names(&c.candidates(false, &[], now)),
            ["East", "North", "West"]
        );
        assert_eq!(
            names(&c.candidates(true, &[], now)),
            ["West"],
            "write health is separate"
        );
        let later = now + Duration::from_secs(301);
        assert_eq!(
            names(&c.candidates(false, &[], later)),
            ["West", "East", "North"]
        );
        assert!(c.unavailable_endpoints(later).is_empty());
    }

    #[test]
    fn without_metadata_the_global_endpoint_is_used() {
        let c = LocationCache::new("https://a.example/", vec![], Duration::from_secs(300));
        assert_eq!(
            &*c.candidates(false, &[], Instant::now())[0].endpoint,
            "https://a.example/"
        );
        assert_eq!(c.account_read_candidates().len(), 1);
    }

    #[test]
    fn marks_are_bounded() {
        let mut c = cache(&[], false);
        let now = Instant::now();
        for i in 0..1000 {
            c.mark_unavailable(&format!("https://x{i}/"), true, true, now);
        }
        assert_eq!(c.unavailable_endpoints(now).len(), MAX_MARKS);
    }
}
