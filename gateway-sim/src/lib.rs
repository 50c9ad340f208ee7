//! Gateway simulator for billingd's tests, demo and benchmarks.
//!
//! One HTTP server hosts every simulated gateway under its own path prefix so a
//! test needs a single ephemeral port: Payroc (`/payroc/v1`, `/payroc-identity`,
//! control endpoints under `/_sim`) and CertiTrade (`/certitrade/ctpsp/ws/2.0`,
//! the payment window under `/certitrade/paywin`, control endpoints under
//! `/_sim/certitrade`).
//!
//! The library API is deliberately tiny ([`spawn`], [`SimConfig`],
//! [`RunningSim`]): billingd's tests talk to the simulator over HTTP, and in process only to
//! keep its clock with theirs ([`RunningSim::clock_setter`]).

mod certitrade;
mod config;
mod payroc;
mod server;
mod support;

pub use config::{ResultField, SimConfig};
pub use server::{RunningSim, spawn};
