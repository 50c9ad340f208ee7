//! `/payment_account`: create a RECURRING account, read it back.

mod store;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::auth;
use super::faults::AccountFault;
use super::hal::{self, Origin};
use super::idempotency::Scope;
use super::lenient;
use super::problem::Problem;
use super::state::CertiTradeState;
use crate::support::reply::{Reply, dropped};

pub use store::{Account, AccountState, AccountStore};

/// `POST /payment_account {"type":"RECURRING"}` → 201, `UNINITIALIZED`.
pub async fn create(
    State(state): State<Arc<CertiTradeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let date = match auth::verify(&state, &method, &uri, &headers, &body) {
        Ok(date) => date,
        Err(problem) => return problem.into_response(),
    };
    let root = match lenient::object(&body) {
        Ok(root) => root,
        Err(problem) => return problem.into_response(),
    };
    let message_id = match lenient::message_id(&root) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    let origin = Origin::from_headers(&headers);
    let fault = state.faults.take_account();
    if fault == Some(AccountFault::Fail) {
        return Problem::server_error("Simulated server error; no payment_account was created")
            .into_response();
    }
    let deliver = |reply: Reply| match fault {
        Some(AccountFault::Drop) => dropped(reply),
        _ => reply.into_response(),
    };
    let Some(message_id) = message_id else {
        return deliver(answer(&state, &root, &origin));
    };
    let mut slot = state
        .messages
        .lock(Scope::PaymentAccount, &date, &message_id)
        .await;
    if let Some(reply) = slot.previous() {
        return deliver(reply);
    }
    let reply = answer(&state, &root, &origin);
    slot.remember(reply.clone());
    deliver(reply)
}

fn answer(state: &CertiTradeState, root: &Value, origin: &Origin) -> Reply {
    match lenient::get(root, "type").map(|t| t.as_str()) {
        Some(Some("RECURRING")) => {}
        Some(Some("ONE_CLICK")) => {
            return Problem::bad_request(
                "type ONE_CLICK is not simulated; only RECURRING accounts are",
            )
            .into_reply();
        }
        _ => {
            return Problem::bad_request("type is required and must be \"RECURRING\"").into_reply();
        }
    }
    let account = state.accounts.create();
    tracing::info!(payment_account = %account.id, "certitrade: payment_account created");
    hal::reply(
        StatusCode::CREATED,
        &account.to_json(&state.merchant(), origin),
    )
}

/// `GET /payment_account/{id}`
pub async fn retrieve(
    State(state): State<Arc<CertiTradeState>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(problem) = auth::verify(&state, &method, &uri, &headers, &body) {
        return problem.into_response();
    }
    // One merchant per simulator, so "another merchant's" cannot happen here:
    // a foreign id is simply unknown, which is what CertiTrade answers too.
    match state.accounts.get(&id) {
        Some(account) => {
            let origin = Origin::from_headers(&headers);
            hal::reply(StatusCode::OK, &account.to_json(&state.merchant(), &origin)).into_response()
        }
        None => Problem::not_found(format!("payment_account {id} was not found")).into_response(),
    }
}
