//! Payroc: "use your own software for repeat payments" — secure tokens and sales with
//! standing instructions.

mod auth;
mod client;
mod ledger;
mod lookup;
#[cfg(test)]
mod request_tests;
mod secure_token;
mod token_request;
pub mod transformers;
#[cfg(test)]
mod transformers_tests;

pub use client::PayrocClient;
pub use secure_token::{CardDetails, CreatedToken, TokenError, TokenRequest};
