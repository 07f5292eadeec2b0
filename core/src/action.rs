//! `Action`: what the core asks the transport to do next.

use std::time::Instant;

use crate::error::CosmosError;
use crate::ids::AttemptId;
use crate::request::OutgoingRequest;
use crate::response::CosmosResponse;

/// The next thing to do for an [`crate::Execution`]. Returned by [`crate::Execution::poll`].
#[must_use]
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Send this request; report its response, error and events with its attempt id.
    Send(Box<OutgoingRequest>),
    /// Drop this in-flight attempt (lost hedge, timeout, cancellation); its late answer is ignored.
    Abort(AttemptId),
    /// Obtain an Entra ID token for these scopes and pass the result to `handle_token`.
    AcquireToken {
        /// The scopes to request.
        scopes: Vec<String>,
    },
    /// Nothing to do until an answer arrives or `until` passes (then poll again).
    Wait {
        /// Poll again at this time at the latest; `None` means only when an answer arrives.
        until: Option<Instant>,
    },
    /// The operation finished. Terminal and sticky: polling again returns the same outcome.
    Done(Result<CosmosResponse, CosmosError>),
}
