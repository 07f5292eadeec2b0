//! Entra ID token handling: acquire before the first request, refresh ahead of expiry.

use super::*;

impl Execution {
    pub(super) fn token_step(&mut self, d: &mut Driver, now: Now) -> Option<Action> {
        if self.meta.stale_token_accepted && d.token.current().is_some() {
            return None; // `MetaState::stale_token_accepted`
        }
        let valid = d.token.valid_at(now.wall);
        let refresh_due = valid.is_none_or(|t| {
            t.expires_on
                .duration_since(now.wall)
                .map(|left| left <= TOKEN_REFRESH_OFFSET)
                .unwrap_or(true)
        });
        let have_valid = valid.is_some();
        let lease_free = d.leases.token_free(now.mono);
        if refresh_due && lease_free {
            let holder = d.next_attempt_id();
            let until = instant_after(now.mono, d.eff.metadata_request_timeout);
            self.claims.take_token(&mut d.leases, holder, until);
            let scopes = d.token_scopes();
            if have_valid {
                // Refresh in the background of this operation; the valid token is used meanwhile.
                self.pending.push_back(Action::AcquireToken { scopes });
                return None;
            }
            return Some(Action::AcquireToken { scopes });
        }
        if !have_valid {
            return Some(self.wait_recheck(d.leases.token(), now));
        }
        None
    }
}
