//! Payroc: "use your own software for repeat payments" — secure tokens and sales with
//! standing instructions.

mod auth;
mod client;
mod lookup;
mod secure_token;
pub mod transformers;
#[cfg(test)]
mod transformers_tests;

pub use client::PayrocClient;
pub use secure_token::{CardDetails, CreatedToken, TokenError, TokenRequest};
