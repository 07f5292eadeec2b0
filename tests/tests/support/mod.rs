//! Helpers shared by the query and id test files (each uses part of them).
#![allow(dead_code)]

pub mod query_clients;
