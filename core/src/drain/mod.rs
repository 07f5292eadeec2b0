//! The drain loop, written once.
//!
//! Every driver of the core (the three transports, the simulator, tests) runs the same cycle:
//! feed what happened since the last turn, then poll until the execution says `Wait` or `Done`,
//! collecting what it asked for. [`Execution::turn`] is that cycle; a transport performs the
//! returned [`Turn`] with the driver unlocked and calls it again when something happens or the
//! wait's deadline passes. Because the core matches every [`Action`] here, transports never see
//! an action they do not know and need no catch-all arm.
//!
//! Inputs are fed in the order given; each carries the instant it was observed (a response's
//! headers may arrive long before its body is fed).

use std::time::Instant;

pub use list::{Drain, InlineList};

use crate::action::Action;
use crate::credential::{AccessToken, CredentialError};
use crate::driver::Driver;
use crate::error::CosmosError;
use crate::execution::Execution;
use crate::ids::AttemptId;
use crate::now::Now;
use crate::request::OutgoingRequest;
use crate::response::CosmosResponse;
use crate::transport::{RequestEvent, RequestEventKind, Response, TransportError};

mod list;

/// The inputs of a turn. Two fit inline (a point operation's second turn feeds its response
/// headers and its response), so feeding them allocates nothing.
pub type Inputs = InlineList<Input, 2>;

/// The requests a turn starts. One fits inline (every operation but a hedged one sends one
/// request per turn), so collecting it allocates nothing.
pub type Sends = InlineList<Box<OutgoingRequest>, 1>;

/// Something a transport observed, to be fed to the execution on the next turn.
#[derive(Debug)]
pub enum Input {
    /// The response headers of an attempt arrived at this instant.
    Headers(AttemptId, Now),
    /// An attempt finished with a complete response.
    Response(AttemptId, Response, Now),
    /// An attempt failed in the transport.
    Failed(AttemptId, TransportError, Now),
    /// A token acquisition finished.
    Token(Result<AccessToken, CredentialError>, Now),
}

impl Input {
    /// Feeds this input to `exec` (the matching `handle_*` call).
    pub fn feed(self, exec: &mut Execution, d: &mut Driver) {
        match self {
            Input::Headers(id, at) => exec.handle_event(
                d,
                id,
                RequestEvent::new(RequestEventKind::ResponseHeadersReceived),
                at,
            ),
            Input::Response(id, response, at) => exec.handle_response(d, id, response, at),
            Input::Failed(id, error, at) => exec.handle_transport_error(d, id, error, at),
            Input::Token(token, at) => exec.handle_token(d, token, at),
        }
    }
}

/// What one turn asks the transport to do, in this order: drop `aborts`, start `sends`, start
/// `token_requests`. Reuse one `Turn` across an operation's turns: its buffers keep their
/// capacity, and one send is held inline, so a warm point operation allocates nothing here.
#[derive(Debug)]
pub struct Turn {
    /// Requests to start, in the order the core emitted them. `TransportStart` has already been
    /// reported for each at the turn's `now` (unless [`Turn::without_transport_events`]). A
    /// request the core aborted within the same turn is never listed. The core hands requests
    /// out boxed; keeping the box avoids moving them.
    pub sends: Sends,
    /// Attempts started in an earlier turn to drop; their late answers are ignored by the core.
    pub aborts: Vec<AttemptId>,
    /// Token acquisitions to start, with their scopes; feed the result as [`Input::Token`].
    pub token_requests: Vec<Vec<String>>,
    /// Report `TransportStart` for each send (real transports); see [`Turn::without_transport_events`].
    transport_events: bool,
}

impl Default for Turn {
    fn default() -> Self {
        Turn {
            sends: InlineList::new(),
            aborts: Vec::new(),
            token_requests: Vec::new(),
            transport_events: true,
        }
    }
}

impl Turn {
    /// A turn for a simulator that models no transport: no `TransportStart` event is reported
    /// for its sends, so diagnostics show only what the simulated service answered.
    pub fn without_transport_events() -> Self {
        Turn {
            transport_events: false,
            ..Turn::default()
        }
    }

    /// True when there is nothing to perform.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.aborts.is_empty() && self.token_requests.is_empty()
    }

    fn clear(&mut self) {
        self.sends.clear();
        self.aborts.clear();
        self.token_requests.clear();
    }
}

/// How a turn ended.
#[derive(Debug)]
#[must_use]
pub enum Drained {
    /// Perform the turn, then wait until an input arrives or `until` passes, and turn again.
    /// `until: None` is only returned while an attempt is in flight (the core enforces it).
    Wait {
        /// Turn again at this instant at the latest.
        until: Option<Instant>,
    },
    /// The operation finished (after performing the turn's aborts). `log_line` is the
    /// diagnostics line to log outside the driver lock, when a threshold was crossed.
    Done {
        /// The outcome.
        outcome: Result<CosmosResponse, CosmosError>,
        /// Diagnostics JSON to log, selected by the driver's thresholds and rate limiter.
        log_line: Option<String>,
    },
}

impl Execution {
    /// One turn of the drain contract: feeds `inputs` (draining the list), then polls until
    /// `Wait` or `Done`, collecting into `turn` (cleared first) what the transport must perform.
    /// Call it right after [`Driver::start`] with no inputs, then whenever an input arrives or
    /// the returned `until` passes.
    pub fn turn(
        &mut self,
        d: &mut Driver,
        inputs: &mut Inputs,
        now: Now,
        turn: &mut Turn,
    ) -> Drained {
        for input in inputs.drain() {
            input.feed(self, d);
        }
        self.drain_turn(d, now, turn)
    }

    /// A turn with nothing to feed (an execution's first turn): polls until `Wait` or `Done`,
    /// collecting into `turn` (cleared first).
    pub(crate) fn drain_turn(&mut self, d: &mut Driver, now: Now, turn: &mut Turn) -> Drained {
        turn.clear();
        loop {
            match self.poll(d, now) {
                Action::Send(req) => {
                    if turn.transport_events {
                        let start = RequestEvent::new(RequestEventKind::TransportStart);
                        self.handle_event(d, req.attempt, start, now);
                    }
                    turn.sends.push(req);
                }
                Action::Abort(id) => {
                    // Never started: drop it from this turn instead.
                    let unsent = turn.sends.iter().position(|r| r.attempt == id);
                    if let Some(i) = unsent {
                        drop(turn.sends.remove(i));
                    } else {
                        turn.aborts.push(id);
                    }
                }
                Action::AcquireToken { scopes } => turn.token_requests.push(scopes),
                Action::Wait { until } => return Drained::Wait { until },
                Action::Done(outcome) => {
                    let log_line = self.diagnostics_log_line(d, now);
                    return Drained::Done { outcome, log_line };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
