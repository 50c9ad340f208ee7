//! The billing domain: pure types and functions, no I/O.

pub mod answer_class;
pub mod intent;
pub mod lifecycle;
pub mod materialize;
pub mod money;
pub mod outcome;
pub mod position;
pub mod reconcile;
pub mod registration;
pub mod schedule;
pub mod series;
pub mod states;
pub mod transition;
