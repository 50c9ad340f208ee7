//! billingd: a recurring-billing scheduler. Postgres decides what is due; a cron tick only wakes
//! the scan; every charge is written down with its Idempotency-Key before it is sent, and the
//! database's unique (subscription, cycle) key makes a cycle billable exactly once.
//!
//! Layers, each using only those below it: `domain` (pure rules and typed states) ← `config` ←
//! `gateway` (one folder per gateway) ← `store` (loads, applies, fences) ← `billing` (runs,
//! sends, reconciliation) ← `api` (with `console`, the operator's pages, beside it) ← `cli`;
//! `clock`, `ids`, `metrics`, `webhooks` and `startup` sit beside them. docs/architecture.md draws the map.

pub mod api;
pub mod billing;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod domain;
pub mod gateway;
pub mod ids;
pub mod metrics;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod webhooks;
