//! A change-feed processor as a pure state machine (issue 13; PROTOCOL.md §9.4): leases in a
//! lease container, one per feed range, balanced across any number of hosts; each host reads
//! the feed of the leases it holds and checkpoints after its handler succeeded.
//!
//! Java and .NET run theirs on threads and timers; this one takes time as an input and emits
//! [`Command`]s (list, create and replace leases, read a lease's changes, deliver them to the
//! handler), so a simulator can run many hosts with crashes and pauses deterministically and a
//! transport only runs the loop: [`Processor::poll`], run the command, [`Processor::complete`].
//!
//! A lease's feed range keeps being read correctly after its physical range splits (the page
//! follows the children, `ChangeFeedPager`); leases are not split into finer ones yet, so
//! balancing stays at the granularity of the ranges that existed when the leases were made.

mod balance;
mod lease;
mod machine;
pub mod requests;

pub use balance::leases_to_take;
pub use lease::{lease_token, Lease};
pub use machine::{Command, CommandId, Outcome, Processor, ProcessorOptions, Step};
