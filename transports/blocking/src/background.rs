//! Work of one execution that runs off the caller's thread: extra attempts (when the core has more
//! than one in flight, e.g. hedging) and token acquisition. Results come back over a channel that
//! the execution loop multiplexes with its timer (`recv_timeout`).
//!
//! A blocking ureq call cannot be interrupted: aborting an attempt means no longer waiting for it;
//! its thread ends by the attempt's own deadline and its late result is dropped here.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use sextant_core::{
    AccessToken, AttemptId, CredentialError, Now, OutgoingRequest, RequestSent, Response,
    SharedDriver, TokenCredential, TransportError, TransportErrorKind,
};

use crate::client::{now, HttpClient};
use crate::workers::Workers;

/// Something a background thread observed, stamped with the time it observed it.
#[derive(Debug)]
pub(crate) enum Event {
    /// The response head of an attempt arrived.
    Headers(AttemptId, Now),
    /// An attempt finished.
    Finished(AttemptId, Result<Response, TransportError>, Now),
    /// A token acquisition finished.
    Token(Result<AccessToken, CredentialError>, Now),
}

/// What waiting produced.
#[derive(Debug)]
pub(crate) enum Next {
    /// An event to feed into the core.
    Event(Event),
    /// `until` passed.
    TimedOut,
    /// Nothing is in flight and there is no timer: nothing can ever wake the loop.
    Stuck,
}

/// The background work of one execution. The channel is created on first use, so the common
/// case (one attempt at a time, performed inline) allocates nothing here.
#[derive(Debug, Default)]
pub(crate) struct Background {
    chan: Option<(Sender<Event>, Receiver<Event>)>,
    /// Attempts running on threads whose results are still wanted.
    attempts: Vec<AttemptId>,
    token_pending: bool,
}

impl Background {
    /// Attempts running on threads whose results are still wanted.
    pub(crate) fn attempts_in_flight(&self) -> usize {
        self.attempts.len()
    }

    fn sender(&mut self) -> Sender<Event> {
        self.chan.get_or_insert_with(mpsc::channel).0.clone()
    }

    /// Runs an attempt on a worker thread. On failure to start one, returns the error to report
    /// (the request was not sent).
    pub(crate) fn spawn_attempt(
        &mut self,
        client: &HttpClient,
        workers: &Workers,
        req: Box<OutgoingRequest>,
    ) -> Result<(), TransportError> {
        let id = req.attempt;
        let tx = self.sender();
        let client = client.clone();
        let spawned = workers.run(Box::new(move || {
            let headers_tx = tx.clone();
            let mut on_headers = |at: Now| {
                // The receiver may be gone (the operation finished): nothing to do then.
                let _ = headers_tx.send(Event::Headers(id, at));
            };
            let result = perform_guarded(&client, req, &mut on_headers);
            let _ = tx.send(Event::Finished(id, result, now()));
        }));
        match spawned {
            Ok(_) => {
                self.attempts.push(id);
                Ok(())
            }
            Err(e) => Err(TransportError::new(
                TransportErrorKind::Other,
                RequestSent::NotSent,
                format!("could not start a thread for the attempt: {e}"),
            )),
        }
    }

    /// Acquires a token on a worker thread. On failure to start one, hands the inputs back so the
    /// caller can acquire it inline.
    pub(crate) fn spawn_token(
        &mut self,
        workers: &Workers,
        credential: Arc<dyn TokenCredential>,
        scopes: Vec<String>,
    ) -> Result<(), (Arc<dyn TokenCredential>, Vec<String>)> {
        let tx = self.sender();
        // Cloned so the inputs can be handed back if the thread cannot start (a rare path).
        let (thread_credential, thread_scopes) = (Arc::clone(&credential), scopes.clone());
        let spawned = workers.run(Box::new(move || {
            let result = acquire_token(thread_credential.as_ref(), &thread_scopes);
            let _ = tx.send(Event::Token(result, now()));
        }));
        match spawned {
            Ok(_) => {
                self.token_pending = true;
                Ok(())
            }
            Err(_) => Err((credential, scopes)),
        }
    }

    /// Stops waiting for an attempt; returns false when it is not one of ours.
    pub(crate) fn abort(&mut self, id: AttemptId) -> bool {
        let before = self.attempts.len();
        self.attempts.retain(|a| *a != id);
        self.attempts.len() != before
    }

    /// Waits for the next wanted event or until `until` passes. With nothing in flight it sleeps
    /// until `until` (a backoff); with nothing in flight and no `until` it reports [`Next::Stuck`].
    pub(crate) fn next(&mut self, until: Option<Instant>) -> Next {
        loop {
            let rx = match &self.chan {
                Some((_, rx)) if !self.attempts.is_empty() || self.token_pending => rx,
                _ => return idle_wait(until),
            };
            let received = match until {
                Some(u) => rx.recv_timeout(u.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(event) => {
                    if let Some(event) = self.wanted(event) {
                        return Next::Event(event);
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Next::TimedOut,
                // Unreachable while we hold a sender; treat it like having nothing in flight.
                Err(RecvTimeoutError::Disconnected) => return idle_wait(until),
            }
        }
    }

    /// Every event already delivered, without waiting.
    pub(crate) fn ready(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some((_, rx)) = &self.chan {
            let received: Vec<Event> = rx.try_iter().collect();
            for event in received {
                if let Some(event) = self.wanted(event) {
                    out.push(event);
                }
            }
        }
        out
    }

    /// Drops events of aborted attempts; marks finished work as no longer in flight.
    fn wanted(&mut self, event: Event) -> Option<Event> {
        match &event {
            Event::Headers(id, _) => self.attempts.contains(id).then_some(event),
            Event::Finished(id, ..) => self.abort(*id).then_some(event),
            Event::Token(..) => {
                self.token_pending = false;
                Some(event)
            }
        }
    }

    /// Called when the operation is done. A token still being acquired (a background refresh the
    /// operation did not need to wait for) is handed to the driver when it arrives, so the next
    /// operations find it; everything else is simply no longer waited for.
    pub(crate) fn finish(self, shared: &SharedDriver, workers: &Workers) {
        if !self.token_pending {
            return;
        }
        let Some((tx, rx)) = self.chan else {
            return;
        };
        drop(tx);
        let shared = shared.clone();
        // If no thread can be started the token is lost; another operation will fetch one when
        // the core's lease on the acquisition expires.
        let _ = workers.run(Box::new(move || {
            while let Ok(event) = rx.recv() {
                if let Event::Token(result, at) = event {
                    // The operation is over: the token goes to the driver (ADR 0002). An error
                    // is already recorded there; no execution waits for it.
                    let _ = shared.lock().handle_token(result, at);
                    break;
                }
            }
        }));
    }
}

fn idle_wait(until: Option<Instant>) -> Next {
    match until {
        Some(u) => {
            let left = u.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                thread::sleep(left);
            }
            Next::TimedOut
        }
        None => Next::Stuck,
    }
}

/// Performs an attempt; a panic inside the HTTP client becomes a transport error (the request
/// may have been written), not a dead thread or a crashed caller.
pub(crate) fn perform_guarded(
    client: &HttpClient,
    req: Box<OutgoingRequest>,
    on_headers: &mut dyn FnMut(Now),
) -> Result<Response, TransportError> {
    catch_unwind(AssertUnwindSafe(|| client.perform(req, on_headers))).unwrap_or_else(|panic| {
        Err(TransportError::new(
            TransportErrorKind::Other,
            RequestSent::Unknown,
            format!(
                "the HTTP client panicked: {}",
                panic_message(panic.as_ref())
            ),
        ))
    })
}

/// Polls the credential's future to completion on this thread; a panic becomes an error.
pub(crate) fn acquire_token(
    credential: &dyn TokenCredential,
    scopes: &[String],
) -> Result<AccessToken, CredentialError> {
    catch_unwind(AssertUnwindSafe(|| {
        futures_lite::future::block_on(credential.get_token(scopes))
    }))
    .unwrap_or_else(|panic| {
        Err(CredentialError::new(format!(
            "the token credential panicked: {}",
            panic_message(panic.as_ref())
        )))
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::testing::{request, response, Peer, Script};
    use sextant_core::ConnectionPoolOptions;

    const WAIT: Duration = Duration::from_secs(5);

    fn client() -> HttpClient {
        HttpClient::new(&ConnectionPoolOptions::default(), false, None)
    }

    fn next_event(bg: &mut Background) -> Event {
        match bg.next(Some(Instant::now() + WAIT)) {
            Next::Event(e) => e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn attempts_run_concurrently_and_aborted_ones_are_ignored() {
        let silent = Peer::start(vec![Script::Silent]);
        let answering = Peer::start(vec![Script::Answer(response(200, "{}"))]);
        let client = client();
        let workers = Workers::default();
        let mut bg = Background::default();
        bg.spawn_attempt(&client, &workers, request(1, &silent.url("/"), WAIT, 1024))
            .unwrap();
        bg.spawn_attempt(
            &client,
            &workers,
            request(2, &answering.url("/"), WAIT, 1024),
        )
        .unwrap();
        assert_eq!(bg.attempts_in_flight(), 2);

        // Attempt 2 completes while attempt 1 is still waiting for its answer.
        assert!(matches!(
            next_event(&mut bg),
            Event::Headers(AttemptId(2), _)
        ));
        match next_event(&mut bg) {
            Event::Finished(AttemptId(2), Ok(r), _) => assert_eq!(r.status, 200),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(bg.attempts_in_flight(), 1);

        // Aborting attempt 1 means no longer waiting for it: its late result is dropped.
        assert!(bg.abort(AttemptId(1)));
        assert!(!bg.abort(AttemptId(1)), "unknown ids are not ours");
        drop(silent); // the peer closes the connection: attempt 1 fails now
        let started = Instant::now();
        assert!(matches!(
            bg.next(Some(Instant::now() + Duration::from_millis(300))),
            Next::TimedOut
        ));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(
            bg.ready().is_empty(),
            "no event of an aborted attempt surfaces"
        );
    }

    #[test]
    fn with_nothing_in_flight_it_sleeps_until_the_timer_or_reports_stuck() {
        let mut bg = Background::default();
        let started = Instant::now();
        assert!(matches!(
            bg.next(Some(started + Duration::from_millis(30))),
            Next::TimedOut
        ));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(matches!(bg.next(None), Next::Stuck));
    }

    #[derive(Debug)]
    struct FixedToken;

    impl TokenCredential for FixedToken {
        fn get_token<'a>(
            &'a self,
            scopes: &'a [String],
        ) -> sextant_core::credential::TokenFuture<'a> {
            Box::pin(async move {
                Ok(AccessToken {
                    token: format!("token for {}", scopes.join(" ")),
                    expires_on: SystemTime::now() + Duration::from_secs(3600),
                })
            })
        }
    }

    #[test]
    fn tokens_are_acquired_off_thread() {
        let mut bg = Background::default();
        bg.spawn_token(
            &Workers::default(),
            Arc::new(FixedToken),
            vec!["scope".into()],
        )
        .unwrap();
        match next_event(&mut bg) {
            Event::Token(Ok(t), _) => assert_eq!(t.token, "token for scope"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            matches!(bg.next(None), Next::Stuck),
            "nothing left in flight"
        );
    }

    #[derive(Debug)]
    struct PanickingToken;

    impl TokenCredential for PanickingToken {
        fn get_token<'a>(
            &'a self,
            _scopes: &'a [String],
        ) -> sextant_core::credential::TokenFuture<'a> {
            Box::pin(async { panic!("boom") })
        }
    }

    #[test]
    fn a_panicking_credential_is_an_error() {
        let e = acquire_token(&PanickingToken, &[]).unwrap_err();
        assert!(e.message.contains("boom"), "{e}");
    }
}
