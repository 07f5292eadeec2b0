//! Retry and failover policy: one table ([`table::decide`]) plus the budgets it draws on.
//!
//! Nothing else in the crate decides whether to retry: the execution asks the table and applies
//! the answer.

pub mod budget;
pub mod table;

pub use budget::{Budget, BudgetLimits, Budgets};
pub use table::{
    decide, decide_in, Decision, DelayRule, Effects, Floor, OpClass, Reaction, Route, Signal,
    Situation,
};
