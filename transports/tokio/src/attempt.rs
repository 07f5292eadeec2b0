//! One in-flight attempt: sending (until the response headers arrive), then reading the body up
//! to the request's size cap. A plain state machine polled by the execution loop, so several
//! attempts of one operation can be in flight without spawning and without boxing.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use sextant_core::{AttemptId, RequestSent, Response, TransportError, TransportErrorKind};

use crate::error_map::{map_body_error, map_send_error};

/// What polling an attempt produced.
#[derive(Debug)]
pub(crate) enum Progress {
    /// The response headers arrived; the body is being read (poll again).
    Headers,
    /// The attempt is over: the complete response, or why it failed.
    Done(Result<Response, TransportError>),
}

/// An attempt in flight. `F` is the HTTP client's send future.
pub(crate) struct Attempt<F> {
    /// The core's id for this attempt.
    pub(crate) id: AttemptId,
    /// The attempt's deadline, which the HTTP client enforces (the request's timeout).
    pub(crate) deadline: Instant,
    max_response_bytes: usize,
    stage: Stage<F>,
}

// The reading stage is the large one and every attempt reaches it: boxing it would only add an
// allocation per attempt.
#[allow(clippy::large_enum_variant)]
enum Stage<F> {
    Sending(F),
    Reading {
        response: reqwest::Response,
        status: u16,
        headers: HeaderMap,
        body: BodyBuf,
    },
    Finished,
}

impl<F> Attempt<F>
where
    F: Future<Output = Result<reqwest::Response, reqwest::Error>> + Unpin,
{
    /// An attempt whose request is being sent by `send`, which fails it with a timeout at
    /// `deadline` at the latest.
    pub(crate) fn new(
        id: AttemptId,
        send: F,
        deadline: Instant,
        max_response_bytes: usize,
    ) -> Self {
        Attempt {
            id,
            deadline,
            max_response_bytes,
            stage: Stage::Sending(send),
        }
    }

    /// Drives the attempt. Returns `Headers` once (then poll again) and `Done` once; it must not
    /// be polled after `Done`.
    pub(crate) fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<Progress> {
        match &mut self.stage {
            Stage::Sending(send) => match Pin::new(send).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => self.finish(Err(map_send_error(&e))),
                Poll::Ready(Ok(mut response)) => {
                    let status = response.status().as_u16();
                    let headers = std::mem::take(response.headers_mut());
                    let declared = response.content_length();
                    if declared.is_some_and(|n| n > self.max_response_bytes as u64) {
                        return self.finish(Err(too_large(self.max_response_bytes)));
                    }
                    // The declared length is bounded by the cap just checked.
                    let hint = declared.map_or(0, |n| n as usize);
                    self.stage = Stage::Reading {
                        response,
                        status,
                        headers,
                        body: BodyBuf::new(hint),
                    };
                    Poll::Ready(Progress::Headers)
                }
            },
            Stage::Reading { response, body, .. } => loop {
                // `chunk()` keeps no state of its own between polls (the body does), so a fresh
                // future per poll is equivalent to awaiting one.
                let next = match pin!(response.chunk()).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(r) => r,
                };
                match next {
                    Ok(Some(chunk)) => {
                        if body.len() + chunk.len() > self.max_response_bytes {
                            return self.finish(Err(too_large(self.max_response_bytes)));
                        }
                        body.push(chunk);
                    }
                    Ok(None) => {
                        let Stage::Reading {
                            status,
                            headers,
                            body,
                            ..
                        } = std::mem::replace(&mut self.stage, Stage::Finished)
                        else {
                            // Unreachable: this arm matched `Reading`.
                            return Poll::Pending;
                        };
                        return Poll::Ready(Progress::Done(Ok(Response {
                            status,
                            headers,
                            body: body.freeze(),
                        })));
                    }
                    Err(e) => return self.finish(Err(map_body_error(&e))),
                }
            },
            // Never polled after `Done`; stay pending rather than panic.
            Stage::Finished => Poll::Pending,
        }
    }

    fn finish(&mut self, r: Result<Response, TransportError>) -> Poll<Progress> {
        self.stage = Stage::Finished;
        Poll::Ready(Progress::Done(r))
    }
}

fn too_large(max: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::ResponseTooLarge,
        RequestSent::Sent,
        format!("the response body exceeds the limit of {max} bytes"),
    )
}

/// A response body being collected. A body that arrives in one chunk (the usual case for small
/// items) is kept as that chunk, without a copy.
enum BodyBuf {
    Empty { hint: usize },
    One(Bytes),
    Many(BytesMut),
}

impl BodyBuf {
    fn new(hint: usize) -> Self {
        BodyBuf::Empty { hint }
    }

    fn len(&self) -> usize {
        match self {
            BodyBuf::Empty { .. } => 0,
            BodyBuf::One(b) => b.len(),
            BodyBuf::Many(b) => b.len(),
        }
    }

    fn push(&mut self, chunk: Bytes) {
        match self {
            BodyBuf::Empty { hint } => {
                let hint = *hint;
                if chunk.len() >= hint {
                    *self = BodyBuf::One(chunk);
                } else {
                    let mut buf = BytesMut::with_capacity(hint);
                    buf.extend_from_slice(&chunk);
                    *self = BodyBuf::Many(buf);
                }
            }
            BodyBuf::One(first) => {
                let mut buf = BytesMut::with_capacity(first.len() + chunk.len());
                buf.extend_from_slice(first);
                buf.extend_from_slice(&chunk);
                *self = BodyBuf::Many(buf);
            }
            BodyBuf::Many(buf) => buf.extend_from_slice(&chunk),
        }
    }

    fn freeze(self) -> Bytes {
        match self {
            BodyBuf::Empty { .. } => Bytes::new(),
            BodyBuf::One(b) => b,
            BodyBuf::Many(b) => b.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_buf_keeps_a_single_chunk_and_joins_several() {
        let mut one = BodyBuf::new(5);
        one.push(Bytes::from_static(b"hello"));
        assert!(matches!(one, BodyBuf::One(_)));
        assert_eq!(one.freeze(), Bytes::from_static(b"hello"));

        let mut many = BodyBuf::new(10);
        many.push(Bytes::from_static(b"hello"));
        many.push(Bytes::from_static(b" world"));
        assert_eq!(many.len(), 11);
        assert_eq!(many.freeze(), Bytes::from_static(b"hello world"));

        assert_eq!(BodyBuf::new(0).freeze(), Bytes::new());
    }
}
