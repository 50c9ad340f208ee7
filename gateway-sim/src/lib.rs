//! Gateway simulator for billingd's tests, demo and benchmarks.
//!
//! One HTTP server hosts every simulated gateway under its own path prefix so a
//! test needs a single ephemeral port. Today that is Payroc (`/payroc/v1`,
//! `/payroc-identity`, control endpoints under `/_sim`); a CertiTrade module is
//! meant to sit next to `payroc/` and be merged into the router in `server.rs`.
//!
//! The library API is deliberately tiny ([`spawn`], [`SimConfig`],
//! [`RunningSim`]): billingd's tests only talk to the simulator over HTTP.

mod config;
mod payroc;
mod server;
mod support;

pub use config::{ResultField, SimConfig};
pub use server::{RunningSim, spawn};
