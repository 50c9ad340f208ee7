//! billingd: a recurring-billing scheduler. Postgres decides what is due; a cron tick only wakes
//! the scan; every charge is written down with its Idempotency-Key before it is sent, and the
//! database's unique (subscription, cycle) key makes a cycle billable exactly once.

pub mod api;
pub mod billing;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod gateway;
pub mod metrics;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod webhooks;
