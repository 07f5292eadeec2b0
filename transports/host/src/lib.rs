//! # sextant-host
//!
//! The sans-IO core never reads a clock, the environment or entropy (`sextant_core` crate docs,
//! "What a transport must do", duties 2 and 3). Every transport has to, in the same way; this
//! crate is that code, once, so the three transports cannot disagree. It holds no I/O library
//! and no runtime. It also holds what the two async transports share above their loops, written
//! once over the little each driver provides ([`paged::AsyncRunner`]): query and change-feed
//! pagers and bulk runs ([`paged`]), the change-feed processor loop ([`processor`]), the
//! throughput flow ([`throughput`]) and the typed layer ([`typed`]). Two macros declare what
//! every transport's public types have that does no I/O: [`driver_methods!`] (metrics, alerts,
//! recording, key rotation on `CosmosDriver`) and [`runtime_builder!`]
//! (`CosmosDriverRuntimeBuilder` and its setters).
//!
//! Applications use a transport crate (`sextant-tokio`, `sextant-blocking`,
//! `sextant-async-std`); this crate is for writing one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sextant_core::Now;

mod driver_methods;
pub mod paged;
pub mod processor;
mod runtime_builder;
pub mod throughput;
pub mod typed;

// The macros' paths to the core, so that they expand the same in every transport.
#[doc(hidden)]
pub use sextant_core as __core;

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

/// The operations of a bulk window from an async stream: waits for the first, then takes what
/// is ready without waiting, up to `max`. Empty once the stream has ended. So a window starts
/// as soon as there is work, and a slow producer never holds finished work back.
pub async fn take_ready<S>(stream: &mut S, max: usize) -> Vec<S::Item>
where
    S: futures_lite::Stream + Unpin,
{
    use futures_lite::StreamExt;
    let mut out = Vec::new();
    let Some(first) = stream.next().await else {
        return out;
    };
    out.push(first);
    while out.len() < max {
        match futures_lite::future::poll_once(stream.next()).await {
            Some(Some(item)) => out.push(item),
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_ready_stops_at_the_bound_and_at_a_pending_item() {
        use futures_lite::{future, stream, StreamExt};
        let mut s = stream::iter(0..10);
        assert_eq!(future::block_on(take_ready(&mut s, 4)), vec![0, 1, 2, 3]);
        assert_eq!(
            future::block_on(take_ready(&mut s, 100)),
            vec![4, 5, 6, 7, 8, 9]
        );
        assert!(future::block_on(take_ready(&mut s, 4)).is_empty());
        // Two ready items, then one that is not ready yet: the window takes the two.
        let mut pending_once = false;
        let mut s = stream::iter(0..2).chain(stream::poll_fn(move |cx| {
            if pending_once {
                std::task::Poll::Ready(None)
            } else {
                pending_once = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }));
        assert_eq!(future::block_on(take_ready(&mut s, 10)), vec![0, 1]);
    }

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
