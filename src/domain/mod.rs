//! The billing domain: pure types and functions, no I/O.

pub mod answer_class;
pub mod charge;
pub mod credential;
pub mod dunning;
pub mod dunning_end;
pub mod forecast;
pub mod import;
pub mod lifecycle;
pub mod materialize;
pub mod money;
pub mod notices;
pub mod outcome;
pub mod position;
pub mod reconcile;
pub mod recovery;
pub mod registration;
pub mod schedule;
pub mod series;
pub mod states;
pub mod transition;
