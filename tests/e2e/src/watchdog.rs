//! Bounds every measurement: if one takes longer than its limit, the process exits (and the
//! server with it, since its stdin closes).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Disarms the watchdog when dropped.
pub struct Armed {
    _disarm: mpsc::Sender<()>,
}

/// Exits the process with status 3 unless the returned guard is dropped within `limit`.
pub fn arm(label: String, limit: Option<Duration>) -> Option<Armed> {
    let limit = limit?;
    let (tx, rx) = mpsc::channel::<()>();
    thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            // A disconnect (the guard was dropped) ends the wait early; only a timeout fires.
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!(
                    "sextant-e2e-bench: watchdog: {label} took longer than {limit:?}; giving up"
                );
                std::process::exit(3);
            }
        })
        .ok()?;
    Some(Armed { _disarm: tx })
}
