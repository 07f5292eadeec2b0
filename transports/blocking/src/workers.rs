//! A small pool of reusable threads for work that must not block the caller: attempts that run
//! concurrently (hedging; reads on multi-region accounts start on a worker because a hedge may
//! have to be sent while they are in flight) and token acquisition.
//!
//! Threads are started on demand, park when done, and exit after [`WORKER_IDLE_TIMEOUT`] without
//! work; at most [`MAX_IDLE_WORKERS`] are kept parked. There is no queue: a job either gets an
//! idle worker or a new thread, so a slow job never delays another.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Work for a worker.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Parked threads kept per runtime. Bounds idle memory; more concurrent jobs simply start more
/// threads, which exit when done.
pub(crate) const MAX_IDLE_WORKERS: usize = 32;
/// A parked thread exits after this long without work.
pub(crate) const WORKER_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A runtime's worker threads. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Workers {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Parked workers: id and the sender that hands them a job.
    idle: Mutex<Vec<(u64, Sender<Job>)>>,
    next_id: AtomicU64,
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workers")
            .field("idle", &self.idle_count())
            .finish()
    }
}

impl Workers {
    /// Runs `job` on a parked worker, or on a new thread when none is parked. Fails only when
    /// no thread can be started (the job is dropped).
    pub(crate) fn run(&self, job: Job) -> io::Result<()> {
        let parked = self.lock_idle().pop();
        let job = match parked {
            Some((_, tx)) => match tx.send(job) {
                Ok(()) => return Ok(()),
                // The worker is gone (it cannot be, see `work`, but a job is never lost).
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        self.spawn(job)
    }

    fn spawn(&self, job: Job) -> io::Result<()> {
        let inner = Arc::clone(&self.inner);
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        thread::Builder::new()
            .name("sextant-worker".into())
            .spawn(move || work(&inner, id, job))
            .map(drop)
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Sender<Job>)>> {
        self.inner.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Workers parked right now.
    pub(crate) fn idle_count(&self) -> usize {
        self.lock_idle().len()
    }
}

fn work(inner: &Inner, id: u64, first: Job) {
    let (tx, rx) = mpsc::channel::<Job>();
    let mut job = first;
    loop {
        job();
        {
            let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() >= MAX_IDLE_WORKERS {
                return;
            }
            idle.push((id, tx.clone()));
        }
        job = match rx.recv_timeout(WORKER_IDLE_TIMEOUT) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = idle.iter().position(|(w, _)| *w == id) {
                    idle.swap_remove(i);
                    return;
                }
                drop(idle);
                // Taken off the list by `run`, which is about to send (or has sent) a job.
                match rx.recv() {
                    Ok(next) => next,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_reused() {
        let workers = Workers::default();
        let (tx, rx) = mpsc::channel();
        let name = move || thread::current().id();
        let t = tx.clone();
        workers
            .run(Box::new(move || t.send(name()).unwrap()))
            .unwrap();
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        // The worker parks itself right after its job; wait (bounded) until it has.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while workers.idle_count() == 0 && std::time::Instant::now() < deadline {
            thread::yield_now();
        }
        assert_eq!(workers.idle_count(), 1);
        workers
            .run(Box::new(move || tx.send(name()).unwrap()))
            .unwrap();
        let second = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first, second, "the parked thread ran the second job");
    }

    #[test]
    fn concurrent_jobs_get_their_own_threads() {
        let workers = Workers::default();
        let (started_tx, started_rx) = mpsc::channel();
        let mut releases = Vec::new();
        for _ in 0..2 {
            let (release_tx, release_rx) = mpsc::channel::<()>();
            releases.push(release_tx);
            let started_tx = started_tx.clone();
            workers
                .run(Box::new(move || {
                    started_tx.send(()).unwrap();
                    let _ = release_rx.recv_timeout(Duration::from_secs(5));
                }))
                .unwrap();
        }
        // Both jobs start while neither is released: they run on two threads.
        for _ in 0..2 {
            started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        drop(releases);
    }
}
