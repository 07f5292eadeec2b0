//! Test harness for Sextant: the local server launcher, the shared real-server scenarios and
//! the deterministic simulator.
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
