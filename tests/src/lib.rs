//! Test harness for Sextant: the shared real-server scenarios, the deterministic simulator, and
//! the local server and test gateway (launched by `sextant-local`, re-exported as [`server`] and
//! [`gateway`]).
//!
//! This crate is test code: a panic here is a failed test with a message, so the library-code
//! lints against `unwrap`/`expect`/`panic!` are relaxed for it alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod failover;
pub mod fault_proxy;
pub mod gateway;
pub mod raw_http;
pub mod recorder;
pub mod recording;
pub mod scenarios;
pub mod server;
pub mod sim;
