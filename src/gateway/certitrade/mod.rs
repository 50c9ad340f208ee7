//! CertiTrade Merchant API 2.0: RECURRING payment accounts, initializing payments through the
//! payment window, and merchant-initiated RECURRING charges.

mod client;
mod ledger;
mod registration;
mod requests;
#[cfg(test)]
mod requests_tests;
pub mod sign;
pub mod transformers;

pub use client::{CertiTradeClient, Initialization};
