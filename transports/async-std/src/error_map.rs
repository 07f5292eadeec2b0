//! Mapping hyper and I/O errors onto the core's [`TransportError`].
//!
//! The `request_sent` flag is never guessed from the error: it comes from the connection's byte
//! counters ([`crate::io::IoCounters::sent_since`]), which the caller passes in.

use std::error::Error as StdError;
use std::io;

use sextant_core::{RequestSent, TransportError, TransportErrorKind};

/// Maps a hyper error observed after the request was handed to the connection.
pub(crate) fn hyper_error(e: &hyper::Error, sent: RequestSent) -> TransportError {
    let kind = if e.is_parse() || e.is_parse_status() {
        TransportErrorKind::Protocol
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() || has_io_source(e) {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, sent, chain(e))
}

/// An I/O error with its sources (rustls errors hide inside `io::Error`).
pub(crate) fn io_message(e: &io::Error) -> String {
    chain(e)
}

fn has_io_source(e: &(dyn StdError + 'static)) -> bool {
    let mut cur = e.source();
    while let Some(s) = cur {
        if s.is::<io::Error>() {
            return true;
        }
        cur = s.source();
    }
    false
}

/// `error: source: source ...`, skipping sources whose text the previous one already contains.
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_messages_include_their_sources() {
        let inner = io::Error::new(io::ErrorKind::InvalidData, "bad certificate");
        let outer = io::Error::other(Wrapper(inner));
        let msg = io_message(&outer);
        assert!(
            msg.contains("wrapped") && msg.contains("bad certificate"),
            "{msg}"
        );
    }

    #[derive(Debug)]
    struct Wrapper(io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }
}
