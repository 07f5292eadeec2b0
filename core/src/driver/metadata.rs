//! The account metadata a driver shares: read once, refreshed by interval or on demand
//! (stale while revalidate: the next execution refreshes it, the others keep the old copy).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::models::AccountProperties;

/// The account properties and when to read them again.
#[derive(Debug, Default)]
pub(crate) struct AccountMetadata {
    props: Option<Arc<AccountProperties>>,
    fetched_at: Option<Instant>,
    stale: bool,
    last_forced_refresh: Option<Instant>,
}

impl AccountMetadata {
    /// The properties, once read.
    pub fn props(&self) -> Option<&Arc<AccountProperties>> {
        self.props.as_ref()
    }

    /// True once the properties have been read (a stale copy counts).
    pub fn known(&self) -> bool {
        self.props.is_some()
    }

    /// True when the next execution should read them: never read, or marked stale.
    pub fn wanted(&self) -> bool {
        self.props.is_none() || self.stale
    }

    /// Stores freshly read properties.
    pub fn set(&mut self, props: AccountProperties, now: Instant) {
        self.props = Some(Arc::new(props));
        self.fetched_at = Some(now);
        self.stale = false;
    }

    /// A refresh failed while an older copy exists: keep using it, and try again one refresh
    /// interval later rather than on every operation.
    pub fn refresh_failed(&mut self, now: Instant) {
        self.stale = false;
        self.fetched_at = Some(now);
    }

    /// Asks for a refresh, at most once per `min_interval`.
    pub fn force_refresh(&mut self, now: Instant, min_interval: Duration) {
        let allowed = self
            .last_forced_refresh
            .is_none_or(|t| now.saturating_duration_since(t) >= min_interval);
        if allowed {
            self.stale = true;
            self.last_forced_refresh = Some(now);
        }
    }

    /// Marks the copy stale once `interval` has passed since it was read.
    pub fn check_age(&mut self, now: Instant, interval: Duration) {
        if let Some(t) = self.fetched_at {
            if now.saturating_duration_since(t) >= interval {
                self.stale = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // tests play the transport: they read the clock once
    fn t0() -> Instant {
        Instant::now()
    }

    fn props() -> AccountProperties {
        AccountProperties::parse(br#"{"writableLocations":[],"readableLocations":[]}"#).unwrap()
    }

    #[test]
    fn read_once_then_again_after_the_interval_or_a_failed_refresh_interval() {
        let now = t0();
        let hour = Duration::from_secs(3600);
        let mut m = AccountMetadata::default();
        assert!(m.wanted() && !m.known());
        m.set(props(), now);
        assert!(!m.wanted());
        m.check_age(now + hour, hour);
        assert!(m.wanted() && m.known(), "stale, still usable");
        m.refresh_failed(now + hour);
        assert!(!m.wanted(), "the old copy serves until the next interval");
        m.check_age(now + hour * 2, hour);
        assert!(m.wanted());
    }

    #[test]
    fn forced_refreshes_are_rate_limited() {
        let now = t0();
        let min = Duration::from_secs(5);
        let mut m = AccountMetadata::default();
        m.set(props(), now);
        m.force_refresh(now, min);
        assert!(m.wanted());
        m.set(props(), now);
        m.force_refresh(now + Duration::from_secs(1), min);
        assert!(
            !m.wanted(),
            "a second forced refresh within the interval is ignored"
        );
        m.force_refresh(now + min, min);
        assert!(m.wanted());
    }
}
