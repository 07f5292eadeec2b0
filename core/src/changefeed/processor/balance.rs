//! Which leases a host takes on an acquire tick (PROTOCOL.md §9.4, Java
//! `EqualPartitionsBalancingStrategy`): expired or unowned leases first, up to its fair share
//! (at most one per tick when other hosts are live); otherwise one lease stolen from the host
//! holding the most, when it holds more than its share.

use std::collections::BTreeMap;
use std::time::Duration;

use super::lease::Lease;

/// The ids of the leases `me` should try to take now. `pick(n)` chooses an index below `n`
/// (the processor's seeded generator: hosts choose differently, so they collide less).
pub fn leases_to_take(
    leases: &[Lease],
    me: &str,
    now_ms: u64,
    expiry: Duration,
    mut pick: impl FnMut(usize) -> usize,
) -> Vec<String> {
    let mut per_owner: BTreeMap<&str, usize> = BTreeMap::new();
    per_owner.insert(me, 0);
    let mut expired: Vec<&Lease> = Vec::new();
    for l in leases {
        match (&l.owner, l.is_expired(now_ms, expiry)) {
            (Some(o), false) => *per_owner.entry(o.as_str()).or_insert(0) += 1,
            _ => expired.push(l),
        }
    }
    let workers = per_owner.len();
    let total = leases.len();
    let target = if total <= workers {
        1
    } else {
        total.div_ceil(workers)
    };
    let mine = per_owner.get(me).copied().unwrap_or(0);
    if !expired.is_empty() {
        let mut need = target.saturating_sub(mine).max(1);
        if workers > 1 {
            need = 1;
        }
        let mut out = Vec::new();
        while out.len() < need && !expired.is_empty() {
            let i = pick(expired.len()) % expired.len();
            out.push(expired.swap_remove(i).id.clone());
        }
        return out;
    }
    if mine >= target {
        return Vec::new();
    }
    let need = target - mine;
    let (owner, most) = per_owner
        .iter()
        .filter(|(o, _)| **o != me)
        .max_by_key(|(o, n)| (**n, std::cmp::Reverse(**o)))
        .map(|(o, n)| (*o, *n))
        .unwrap_or((me, 0));
    let threshold = target - usize::from(need > 1);
    if owner == me || most <= threshold {
        return Vec::new();
    }
    let theirs: Vec<&Lease> = leases
        .iter()
        .filter(|l| l.owner.as_deref() == Some(owner))
        .collect();
    if theirs.is_empty() {
        return Vec::new();
    }
    vec![theirs[pick(theirs.len()) % theirs.len()].id.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(i: usize, owner: Option<&str>, ts: u64) -> Lease {
        let mut l = Lease::new("p", &format!("{i:02}"), &format!("{:02}", i + 1));
        l.owner = owner.map(str::to_owned);
        l.timestamp_ms = ts;
        l
    }

    #[test]
    fn expired_first_then_steal_from_the_richest_above_its_share() {
        let exp = Duration::from_secs(60);
        let now = 100_000;
        // Alone: take every unowned lease at once.
        let leases: Vec<Lease> = (0..4).map(|i| lease(i, None, 0)).collect();
        assert_eq!(leases_to_take(&leases, "a", now, exp, |_| 0).len(), 4);
        // With another live host: one per tick.
        let mut leases: Vec<Lease> = (0..4).map(|i| lease(i, None, 0)).collect();
        leases[0] = lease(0, Some("b"), now);
        assert_eq!(leases_to_take(&leases, "a", now, exp, |_| 0).len(), 1);
        // b holds all 4 (live): a's share is 2, b holds more than 2 - 1: steal one.
        let leases: Vec<Lease> = (0..4).map(|i| lease(i, Some("b"), now)).collect();
        assert_eq!(leases_to_take(&leases, "a", now, exp, |_| 0).len(), 1);
        // Balanced 2/2: nothing.
        let leases: Vec<Lease> = (0..4)
            .map(|i| lease(i, Some(if i < 2 { "a" } else { "b" }), now))
            .collect();
        assert!(leases_to_take(&leases, "a", now, exp, |_| 0).is_empty());
        // b's leases expired (not written for 60 s): they are free.
        let leases: Vec<Lease> = (0..4).map(|i| lease(i, Some("b"), now - 60_000)).collect();
        assert_eq!(leases_to_take(&leases, "a", now, exp, |_| 0).len(), 4);
    }
}
