//! CertiTrade Merchant API 2.0 simulator, RECURRING payments only: payment
//! accounts, initializing payments completed in a simulated payment window
//! (with merchant callbacks), synchronous subsequent charges, and `/_sim`
//! control routes under `/_sim/certitrade`.

mod accounts;
mod auth;
mod callbacks;
mod cards;
mod control;
mod faults;
mod hal;
mod idempotency;
mod ledger;
mod lenient;
mod payments;
mod paywin;
mod problem;
mod request_log;
mod signature;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::config::SimConfig;
use crate::support::clock::SimClock;
use state::CertiTradeState;

/// Where the API lives on the simulator; stands in for
/// `https://apitest.certitrade.net/ctpsp/ws/2.0`.
pub const API_PREFIX: &str = "/certitrade/ctpsp/ws/2.0";
/// Where the customer's browser is sent (`_links.paywin.href`).
const PAYWIN_PREFIX: &str = "/certitrade/paywin";

/// Routes under `API_PREFIX`, `PAYWIN_PREFIX` and `/_sim/certitrade`.
pub fn router(config: &SimConfig, clock: Arc<SimClock>) -> Router {
    let state = Arc::new(CertiTradeState::new(config, clock));
    // Full paths rather than `nest`: a nested handler sees a stripped URI,
    // and the signature covers the URI exactly as the client sent it.
    let api = |path: &str| format!("{API_PREFIX}{path}");
    Router::new()
        .route(&api("/payment_account"), post(accounts::create))
        .route(&api("/payment_account/{id}"), get(accounts::retrieve))
        .route(
            &api("/payment"),
            post(payments::create).get(payments::search),
        )
        .route(&api("/payment/{id}"), get(payments::retrieve))
        .route(
            &format!("{PAYWIN_PREFIX}/{{payment_id}}"),
            get(paywin::open),
        )
        .nest("/_sim/certitrade", control::router())
        .with_state(state)
}
