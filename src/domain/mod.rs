//! The billing domain: pure types and functions, no I/O.

pub mod answer_class;
pub mod charge;
pub mod credential;
pub mod lifecycle;
pub mod money;
pub mod outcome;
pub mod position;
pub mod reconcile;
pub mod registration;
pub mod schedule;
pub mod series;
pub mod states;
