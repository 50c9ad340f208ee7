//! Payroc simulator, exercised over real HTTP. One test binary (with modules)
//! keeps link time down.

mod common;

mod auth;
mod concurrency;
mod faults;
mod idempotency;
mod listing;
mod nulls;
mod payments;
mod recurring;
mod secure_tokens;
