//! Test harness for Sextant.
pub mod server;
