//! Payroc simulator: identity service, the card-payment API subset billingd
//! uses ("use your own software" repeat payments), and `/_sim` control routes.

mod auth;
mod card;
mod control;
mod faults;
mod idempotency;
mod ledger;
mod payments;
mod problem;
mod reply;
mod request_log;
mod secure_tokens;
mod state;
mod validate;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::config::SimConfig;
use crate::support::clock::SimClock;
use state::PayrocState;

/// Routes under `/payroc-identity`, `/payroc/v1` and `/_sim`, state applied.
pub fn router(config: &SimConfig, clock: Arc<SimClock>) -> Router {
    let state = Arc::new(PayrocState::new(config, clock));
    let identity = Router::new().route("/authorize", post(auth::authorize));
    let api = Router::new()
        .route(
            "/processing-terminals/{processingTerminalId}/secure-tokens",
            post(secure_tokens::create),
        )
        .route(
            "/processing-terminals/{processingTerminalId}/secure-tokens/{secureTokenId}",
            get(secure_tokens::retrieve),
        )
        .route("/payments", post(payments::create).get(payments::list))
        .route("/payments/{paymentId}", get(payments::retrieve));
    Router::new()
        .nest("/payroc-identity", identity)
        .nest("/payroc/v1", api)
        .nest("/_sim", control::router())
        .with_state(state)
}
