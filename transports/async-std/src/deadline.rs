//! Deadlines: racing a future against an `async-io` timer or against a deadline that another
//! timer wakes for, and the execution loop's reusable timer (all work under async-std and smol
//! alike).
//!
//! Registering an `async-io` timer costs more than its bookkeeping: the reactor is notified
//! (an eventfd write, then a reactor turn to read it and re-arm it, and the timerfd set again),
//! about 6 syscalls. An attempt used to register two (its own deadline, and the loop's wait for
//! the same instant). Now the loop's [`LoopTimer`] is the only one: it is kept across waits and
//! operations and re-registered only when it would fire after the instant waited for, and an
//! attempt only compares the clock with its deadline when it is polled ([`race_deadline`]).

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Instant;

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

/// Polls `fut` until it finishes or, when it is pending, `deadline` has passed. Nothing here
/// wakes the task at the deadline: the caller guarantees a wake-up at or before it (the execution
/// loop waits for the core's `until`, which is never later than an attempt's deadline). As with
/// [`race`], an outcome that is ready when the deadline passes still wins.
pub(crate) async fn race_deadline<F: Future>(deadline: Instant, fut: F) -> Raced<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Raced::Done(v));
        }
        if Instant::now() >= deadline {
            return Poll::Ready(Raced::TimedOut);
        }
        Poll::Pending
    })
    .await
}

/// The execution loop's timer, reused across waits and operations (see the module docs).
#[derive(Debug)]
pub(crate) struct LoopTimer {
    timer: Timer,
    /// When the timer fires, while it is set and has not fired yet (as far as it was polled).
    armed: Option<Instant>,
}

impl LoopTimer {
    /// A timer that is not set.
    pub(crate) fn new() -> Self {
        LoopTimer {
            timer: Timer::never(),
            armed: None,
        }
    }

    /// Ready once `until` has passed. A timer set for an earlier instant is kept (no new
    /// registration): when it fires early it is set again for `until`, without waking the caller.
    pub(crate) fn poll_until(&mut self, until: Instant, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.armed {
                Some(at) if at <= until => {}
                _ => {
                    self.timer.set_at(until);
                    self.armed = Some(until);
                }
            }
            match Pin::new(&mut self.timer).poll(cx) {
                Poll::Ready(fired) => {
                    self.armed = None;
                    if fired >= until {
                        return Poll::Ready(());
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
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

    #[test]
    fn a_passed_deadline_ends_a_pending_future_but_not_a_ready_one() {
        let past = Instant::now();
        assert!(matches!(
            block_on(race_deadline(past, ready(7))),
            Raced::Done(7)
        ));
        assert!(matches!(
            block_on(race_deadline(past, pending::<()>())),
            Raced::TimedOut
        ));
    }

    #[test]
    fn the_loop_timer_waits_for_until_even_when_set_earlier() {
        let mut t = LoopTimer::new();
        let start = Instant::now();
        let early = start + Duration::from_millis(5);
        let late = start + Duration::from_millis(30);
        // Set for `early`, then waited on for `late`: it fires at `early`, is set again, and
        // only reports `late`.
        block_on(poll_fn(|cx| {
            let _ = t.poll_until(early, cx);
            Poll::Ready(())
        }));
        block_on(poll_fn(|cx| t.poll_until(late, cx)));
        assert!(Instant::now() >= late);
        // Waiting for an earlier instant than the one set re-arms it for that instant.
        let start = Instant::now();
        block_on(poll_fn(|cx| {
            let _ = t.poll_until(start + Duration::from_secs(3600), cx);
            Poll::Ready(())
        }));
        block_on(poll_fn(|cx| {
            t.poll_until(start + Duration::from_millis(5), cx)
        }));
        assert!(start.elapsed() < Duration::from_secs(60));
    }
}
