//! Racing a future against an `async-io` timer (works under async-std and smol alike).

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;

use async_io::Timer;
use futures_lite::future::poll_fn;

/// The outcome of [`race`].
#[derive(Debug)]
pub(crate) enum Raced<T> {
    /// The future finished first (or at the same poll as the timer).
    Done(T),
    /// The timer fired first.
    TimedOut,
}

/// Polls `fut` until it finishes or `timer` fires. The future is polled first, so an outcome
/// that is ready when the deadline passes still wins. The timer is borrowed, so one deadline can
/// bound several consecutive phases.
pub(crate) async fn race<F: Future>(timer: &mut Timer, fut: F) -> Raced<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Raced::Done(v));
        }
        if Pin::new(&mut *timer).poll(cx).is_ready() {
            return Poll::Ready(Raced::TimedOut);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::{Duration, Instant};

    use futures_lite::future::{block_on, pending, ready};

    #[test]
    fn the_future_wins_when_ready_and_the_timer_otherwise() {
        let mut past = Timer::at(Instant::now());
        assert!(matches!(
            block_on(race(&mut past, ready(7))),
            Raced::Done(7)
        ));
        let mut short = Timer::after(Duration::from_millis(10));
        assert!(matches!(
            block_on(race(&mut short, pending::<()>())),
            Raced::TimedOut
        ));
    }
}
