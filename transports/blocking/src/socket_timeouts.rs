//! Socket timeouts on a coarse grid, so that a pooled connection's timeouts are set once rather
//! than on every request; and one liveness probe per reuse instead of two.
//!
//! ureq's TCP transport sets `SO_SNDTIMEO` / `SO_RCVTIMEO` (one `setsockopt` each) whenever the
//! remaining time it is given differs from the value it set last. Every attempt has a deadline,
//! so the remaining time differs on every request: two `setsockopt` per request. [`GridTimeouts`]
//! sits between the TCP transport and TLS and hands the TCP transport the remaining time rounded
//! **down** to a multiple of [`GRID`]. Requests on a connection then repeat the same value (a
//! 6 s attempt timeout gives 5.99 s while less than 10 ms of it has been used), and the socket
//! calls are skipped.
//!
//! Deadlines are kept:
//! - **Reads** end exactly at the deadline: a read that times out on the rounded value is retried
//!   once with the exact remainder (a timed-out read consumed nothing).
//! - **Writes** cannot be retried (a timed-out `write_all` may have written part of its
//!   buffer): a write that makes no progress at all fails at most [`GRID`] before the deadline,
//!   never after it. (With `SO_SNDTIMEO` the bound applies to each `send` call that makes no
//!   progress, as in ureq itself.)
//!
//! **Probes.** ureq's pool probes a connection (`is_open`: make the socket non-blocking, try a
//! read, make it blocking again: three syscalls) when an exchange ends and it returns the
//! connection to the pool, and again when it takes the connection out for the next request.
//! The second probe sees everything the first would have (bytes after the body, a close, a
//! reset), plus whatever happened while the connection sat idle, and a connection it finds dead
//! is dropped and the next one tried, as before. So the probe right after an exchange is
//! skipped: [`GridTimeouts::is_open`] answers `true` when the connection did I/O since it was
//! last asked, and probes otherwise (a pooled connection being taken out).

use std::time::Instant;

use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};
use ureq::Error;

/// The grid socket timeouts are rounded down to. Small against attempt timeouts (seconds), large
/// against the time from an attempt's start to its reads and writes (well under a millisecond
/// natively, a few under valgrind), so consecutive requests round to the same value.
pub(crate) const GRID: std::time::Duration = std::time::Duration::from_millis(10);

/// A connector that wraps the transport of the previous connector (the TCP socket) in
/// [`GridTimeouts`].
#[derive(Debug, Default)]
pub(crate) struct GridTimeoutsConnector;

impl<In: Transport> Connector<In> for GridTimeoutsConnector {
    type Out = GridTimeouts<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        Ok(chained.map(|inner| GridTimeouts {
            inner,
            exchanged: false,
        }))
    }
}

/// A transport whose I/O timeouts are rounded down to [`GRID`] (reads retried up to the exact
/// deadline), and that probes only connections being reused. See the module documentation.
#[derive(Debug)]
pub(crate) struct GridTimeouts<T> {
    inner: T,
    /// I/O happened since `is_open` was last called: the exchange just ended.
    exchanged: bool,
}

/// `remaining` rounded down to a multiple of [`GRID`]; `remaining` itself when that would be zero
/// or when there is no timeout.
fn on_grid(remaining: UreqDuration) -> UreqDuration {
    match remaining {
        UreqDuration::Exact(d) => {
            let grid = GRID.as_nanos();
            let floored = d.as_nanos() / grid * grid;
            match u64::try_from(floored) {
                Ok(nanos) if nanos > 0 => {
                    UreqDuration::Exact(std::time::Duration::from_nanos(nanos))
                }
                _ => remaining,
            }
        }
        UreqDuration::NotHappening => remaining,
    }
}

impl<T: Transport> Transport for GridTimeouts<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        self.exchanged = true;
        let timeout = timeout.for_write();
        self.inner.transmit_output(
            amount,
            NextTimeout {
                after: on_grid(timeout.after),
                ..timeout
            },
        )
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.exchanged = true;
        let timeout = timeout.for_read();
        let UreqDuration::Exact(total) = timeout.after else {
            return self.inner.await_input(timeout);
        };
        let started = Instant::now();
        let after = on_grid(timeout.after);
        match self.inner.await_input(NextTimeout { after, ..timeout }) {
            // Timed out on the rounded value: nothing was read; wait for the rest, exactly.
            Err(Error::Timeout(_)) if after < timeout.after => {
                let left = total.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(Error::Timeout(timeout.reason));
                }
                self.inner.await_input(NextTimeout {
                    after: UreqDuration::Exact(left),
                    ..timeout
                })
            }
            result => result,
        }
    }

    fn is_open(&mut self) -> bool {
        // Right after an exchange (the pool taking the connection back): the probe when it is
        // next taken out covers this one.
        if std::mem::take(&mut self.exchanged) {
            return true;
        }
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn exact(d: Duration) -> UreqDuration {
        UreqDuration::Exact(d)
    }

    /// A socket that never answers: each read waits for its whole timeout, then times out.
    #[derive(Debug)]
    struct Silent {
        buffers: ureq::unversioned::transport::LazyBuffers,
        reads: Vec<UreqDuration>,
        writes: Vec<UreqDuration>,
        probes: usize,
    }

    impl Transport for Silent {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }

        fn transmit_output(&mut self, _amount: usize, timeout: NextTimeout) -> Result<(), Error> {
            self.writes.push(timeout.after);
            Ok(())
        }

        fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
            self.reads.push(timeout.after);
            std::thread::sleep(*timeout.after);
            Err(Error::Timeout(timeout.reason))
        }

        fn is_open(&mut self) -> bool {
            self.probes += 1;
            true
        }
    }

    fn silent() -> GridTimeouts<Silent> {
        GridTimeouts {
            inner: Silent {
                buffers: ureq::unversioned::transport::LazyBuffers::new(64, 64),
                reads: Vec::new(),
                writes: Vec::new(),
                probes: 0,
            },
            exchanged: false,
        }
    }

    fn next(after: Duration) -> NextTimeout {
        NextTimeout {
            after: exact(after),
            ..NextTimeout::default()
        }
    }

    #[test]
    fn a_silent_read_ends_at_the_deadline_not_at_the_rounded_timeout() {
        let mut t = silent();
        let timeout = Duration::from_millis(35);
        let started = Instant::now();
        let result = t.await_input(next(timeout));
        let elapsed = started.elapsed();
        assert!(matches!(result, Err(Error::Timeout(_))), "{result:?}");
        assert!(elapsed >= timeout, "{elapsed:?}");
        assert_eq!(t.inner.reads.len(), 2, "{:?}", t.inner.reads);
        assert_eq!(t.inner.reads[0], exact(Duration::from_millis(30)));
        let UreqDuration::Exact(rest) = t.inner.reads[1] else {
            panic!("{:?}", t.inner.reads)
        };
        assert!(rest <= Duration::from_millis(5), "{rest:?}");
    }

    #[test]
    fn writes_and_reads_on_the_same_connection_repeat_the_same_timeout() {
        let mut t = silent();
        let timeout = Duration::from_secs(6);
        for used in [3u64, 40, 700] {
            t.transmit_output(1, next(timeout - Duration::from_micros(used)))
                .unwrap();
        }
        assert_eq!(t.inner.writes, vec![exact(timeout - GRID); 3]);
        let none = NextTimeout::default();
        t.transmit_output(1, none).unwrap();
        assert_eq!(t.inner.writes[3], UreqDuration::NotHappening);
    }

    #[test]
    fn only_a_connection_being_taken_out_of_the_pool_is_probed() {
        let mut t = silent();
        // ureq's pool: an exchange, the probe when it takes the connection back, the probe when
        // it takes it out for the next request.
        t.transmit_output(1, next(Duration::from_secs(1))).unwrap();
        assert!(t.is_open(), "returned to the pool");
        assert_eq!(
            t.inner.probes, 0,
            "the probe right after an exchange is skipped"
        );
        assert!(t.is_open(), "taken out again");
        assert_eq!(t.inner.probes, 1, "a connection being reused is probed");
        assert!(t.is_open());
        assert_eq!(
            t.inner.probes, 2,
            "every probe without I/O in between is real"
        );
        let _ = t.await_input(next(Duration::from_millis(1)));
        assert!(t.is_open());
        assert_eq!(t.inner.probes, 2);
    }

    #[test]
    fn remaining_times_round_down_to_the_grid() {
        let t = Duration::from_secs(6);
        // Any remaining time within one grid step below the timeout gives the same value.
        for used in [1u64, 50, 999, 9_999] {
            assert_eq!(
                on_grid(exact(t - Duration::from_micros(used))),
                exact(t - GRID)
            );
        }
        assert_eq!(on_grid(exact(t)), exact(t), "on the grid already");
        // Less than one step: the exact value (never zero, which would mean "no time").
        let small = Duration::from_millis(3);
        assert_eq!(on_grid(exact(small)), exact(small));
        assert_eq!(
            on_grid(UreqDuration::NotHappening),
            UreqDuration::NotHappening
        );
    }
}
