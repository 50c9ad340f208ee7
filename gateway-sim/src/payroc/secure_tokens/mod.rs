//! `POST /processing-terminals/{processingTerminalId}/secure-tokens`: saving a
//! card for later merchant-initiated sales.

mod request;
mod store;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::idempotency::{self, Previous, Scope};
use super::reply::Reply;
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
    let hash = idempotency::body_hash(&body);
    let mut slot = match state.idempotency.try_lock(Scope::SecureTokens, key) {
        Ok(slot) => slot,
        Err(in_flight) => return in_flight.into_response(),
    };
    match slot.previous(&hash) {
        Some(Previous::Replay(reply)) => return reply.into_response(),
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
    reply.into_response()
}
