//! # sextant-host
//!
//! The sans-IO core never reads a clock, the environment or entropy (`sextant_core` crate docs,
//! "What a transport must do", duties 2 and 3). Every transport has to, in the same way; this
//! crate is that code, once, so the three transports cannot disagree. It holds no I/O library
//! and no runtime.
//!
//! Internal: use a transport crate (`sextant-tokio`, `sextant-blocking`, `sextant-async-std`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sextant_core::Now;

/// Prefix of the environment variables Sextant reads.
pub const ENV_PREFIX: &str = "AZURE_COSMOS_";

/// Both clocks, read once (duty 3).
#[allow(clippy::disallowed_methods)] // this crate is where the transports read the clock
pub fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// The process's `AZURE_COSMOS_*` variables (others are never read; non-UTF-8 ones skipped),
/// for `RuntimeOptions::resolve` (duty 2).
pub fn process_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect()
}

/// A driver seed that differs between drivers, processes and runs: the standard library's
/// randomly keyed hasher (keys from the OS) over the wall clock, a process-wide counter and the
/// process id (duty 2). Runtimes with a fixed seed (`seed(..)` on their builder) never call it.
pub fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    #[allow(clippy::disallowed_methods)] // entropy, not a decision input: see above
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u64(n);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ() {
        assert_ne!(fresh_seed(), fresh_seed());
    }

    #[test]
    fn only_prefixed_variables_are_read() {
        assert!(process_environment()
            .keys()
            .all(|k| k.starts_with(ENV_PREFIX)));
    }
}
