//! `POST /processing-terminals/{processingTerminalId}/secure-tokens`: saving a
//! card for later merchant-initiated sales.

mod request;
mod store;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::faults::Fault;
use super::idempotency::{self, Previous, Scope};
use super::problem::Problem;
use super::reply::{Delivery, Reply, deliver, html_server_error};
use super::state::PayrocState;

pub use store::{SecureToken, TokenStore, TokenUse};

pub async fn create(
    State(state): State<Arc<PayrocState>>,
    Path(processing_terminal_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(problem) = state.auth.check(&headers) {
        return problem.into_response();
    }
    let key = match idempotency::key_from_headers(&headers) {
        Ok(key) => key,
        Err(problem) => return problem.into_response(),
    };
    let fault = state.faults.take_token();
    if fault == Some(Fault::Fail) {
        return html_server_error();
    }
    let hash = idempotency::body_hash(&body);
    let mut slot = match state.idempotency.try_lock(Scope::SecureTokens, key) {
        Ok(slot) => slot,
        Err(in_flight) => return in_flight.into_response(),
    };
    let delivery = if fault == Some(Fault::Drop) {
        Delivery::Drop
    } else {
        Delivery::Normal
    };
    match slot.previous(&hash) {
        Some(Previous::Replay(reply)) => return deliver(reply, delivery),
        Some(Previous::Conflict(problem)) => return problem.into_response(),
        None => {}
    }
    let reply = match request::parse(&body, &processing_terminal_id)
        .and_then(|new| state.tokens.create(new))
    {
        Ok(token) => {
            tracing::info!(
                secure_token_id = %token.secure_token_id,
                terminal = %token.processing_terminal_id,
                "payroc: secure token created"
            );
            Reply::json(StatusCode::CREATED, &token.to_json())
        }
        Err(problem) => problem.into_reply(),
    };
    slot.remember(hash, reply.clone());
    deliver(reply, delivery)
}

/// `GET /processing-terminals/{processingTerminalId}/secure-tokens/{secureTokenId}`: how a
/// merchant that chose the secureTokenId finds a token whose creation answer it lost.
pub async fn retrieve(
    State(state): State<Arc<PayrocState>>,
    Path((processing_terminal_id, secure_token_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = state.auth.check(&headers) {
        return problem.into_response();
    }
    match state
        .tokens
        .by_id(&processing_terminal_id, &secure_token_id)
    {
        Some(token) => Reply::json(StatusCode::OK, &token.to_json()).into_response(),
        None => Problem::not_found(format!(
            "No secure token {secure_token_id} on processing terminal {processing_terminal_id}"
        ))
        .into_response(),
    }
}
