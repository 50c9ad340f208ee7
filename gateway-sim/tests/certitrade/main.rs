//! CertiTrade simulator, exercised over real HTTP with requests signed by the
//! test itself. One test binary (with modules) keeps link time down.

mod common;
mod receiver;

mod accounts;
mod auth;
mod callbacks;
mod faults;
mod idempotency;
mod initializing;
mod nulls;
mod recurring;
mod search;
