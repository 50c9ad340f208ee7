//! `/_sim/certitrade/*`: test-only control and inspection endpoints.
//! Unauthenticated on purpose — they are not part of CertiTrade's API.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;

use super::accounts::AccountState;
use super::faults::FaultPlan;
use super::hal::Origin;
use super::paywin::{self, Refusal};
use super::problem::Problem;
use super::state::CertiTradeState;

pub fn router() -> Router<Arc<CertiTradeState>> {
    Router::new()
        .route("/ledger", get(ledger))
        .route("/requests", get(requests))
        .route("/callbacks", get(callbacks))
        .route("/accounts", get(accounts))
        .route("/accounts/{id}/suspend", post(suspend))
        .route("/accounts/{id}/close", post(close))
        .route("/accounts/{id}/card", post(replace_card))
        .route("/paywin/{payment_id}", post(complete_window))
        .route("/faults", post(arm_faults).get(current_faults))
}

/// One-shot counters and random rates (see `faults`); anything missing is 0.
async fn arm_faults(State(state): State<Arc<CertiTradeState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body)
        .map_err(|e| e.to_string())
        .and_then(|plan| plan.check().map(|()| plan))
    {
        Ok(plan) => {
            state.faults.arm(plan);
            tracing::info!(?plan, "sim: certitrade faults armed");
            Json(state.faults.current()).into_response()
        }
        Err(err) => Problem::bad_request(format!("invalid faults body: {err}")).into_response(),
    }
}

async fn current_faults(State(state): State<Arc<CertiTradeState>>) -> Response {
    Json(state.faults.current()).into_response()
}

/// Every payment_account as the API shows it, by creation time (to the second), then id.
async fn accounts(State(state): State<Arc<CertiTradeState>>, headers: HeaderMap) -> Response {
    let origin = Origin::from_headers(&headers);
    let merchant = state.merchant();
    let all: Vec<_> = state
        .accounts
        .snapshot()
        .iter()
        .map(|a| a.to_json(&merchant, &origin))
        .collect();
    Json(all).into_response()
}

async fn ledger(State(state): State<Arc<CertiTradeState>>) -> Response {
    Json(state.ledger.snapshot()).into_response()
}

async fn requests(State(state): State<Arc<CertiTradeState>>) -> Response {
    Json(state.requests.snapshot()).into_response()
}

async fn callbacks(State(state): State<Arc<CertiTradeState>>) -> Response {
    Json(state.callbacks.snapshot()).into_response()
}

/// As CertiTrade's fraud system would: later charges get ACCOUNT_TERMINATED
/// until an initializing payment re-activates the account.
async fn suspend(
    State(state): State<Arc<CertiTradeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_state(&state, &id, &headers, AccountState::Suspended)
}

/// The documented terminal state: charges get ACCOUNT_TERMINATED and the
/// account can never be initialized again.
async fn close(
    State(state): State<Arc<CertiTradeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_state(&state, &id, &headers, AccountState::Closed)
}

fn set_state(state: &CertiTradeState, id: &str, headers: &HeaderMap, to: AccountState) -> Response {
    let changed = state.accounts.update(id, |account| {
        if account.state == AccountState::Uninitialized && to == AccountState::Suspended {
            return Err(Problem::conflict(
                "An UNINITIALIZED account cannot be suspended",
            ));
        }
        account.state = to;
        Ok(account.clone())
    });
    match changed {
        None => Problem::not_found(format!("payment_account {id} was not found")).into_response(),
        Some(Err(problem)) => problem.into_response(),
        Some(Ok(account)) => {
            tracing::info!(
                payment_account = id,
                state = to.as_str(),
                "sim: payment_account changed"
            );
            let origin = Origin::from_headers(headers);
            Json(account.to_json(&state.merchant(), &origin)).into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CardBody {
    card: Option<String>,
    expiry: Option<String>,
    /// Only for `/paywin`: whether to POST the callback (default true).
    send_callback: Option<bool>,
}

fn card_body(body: &[u8]) -> Result<CardBody, Problem> {
    if body.is_empty() {
        return Ok(CardBody::default());
    }
    serde_json::from_slice(body)
        .map_err(|err| Problem::bad_request(format!("invalid control body: {err}")))
}

/// Swaps the card behind an initialized account without a payment window —
/// e.g. to make later charges decline (`123456789001` → respcode 05).
async fn replace_card(
    State(state): State<Arc<CertiTradeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = match card_body(&body) {
        Ok(parsed) => parsed,
        Err(problem) => return problem.into_response(),
    };
    let card = match paywin::card_from(parsed.card.as_deref(), parsed.expiry.as_deref()) {
        Ok(card) => card,
        Err(message) => return Problem::bad_request(message).into_response(),
    };
    let changed = state.accounts.update(&id, |account| {
        if account.card.is_none() {
            return Err(Problem::conflict(
                "The account has no card yet; initialize it first",
            ));
        }
        account.card = Some(card);
        Ok(account.clone())
    });
    match changed {
        None => Problem::not_found(format!("payment_account {id} was not found")).into_response(),
        Some(Err(problem)) => problem.into_response(),
        Some(Ok(account)) => {
            let origin = Origin::from_headers(&headers);
            Json(account.to_json(&state.merchant(), &origin)).into_response()
        }
    }
}

/// Completes a payment window like the browser route, answering the payment
/// as JSON; `"send_callback": false` leaves the merchant to poll.
async fn complete_window(
    State(state): State<Arc<CertiTradeState>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = match card_body(&body) {
        Ok(parsed) => parsed,
        Err(problem) => return problem.into_response(),
    };
    let card = match paywin::card_from(parsed.card.as_deref(), parsed.expiry.as_deref()) {
        Ok(card) => card,
        Err(message) => return Problem::bad_request(message).into_response(),
    };
    match paywin::complete(&state, &payment_id, card) {
        Ok(done) => {
            if let Some(notice) = done.notice.filter(|_| parsed.send_callback.unwrap_or(true)) {
                state
                    .callbacks
                    .send(notice, state.merchant(), state.api_key.clone());
            }
            let origin = Origin::from_headers(&headers);
            (
                StatusCode::OK,
                Json(done.payment.to_json(&state.merchant(), &origin)),
            )
                .into_response()
        }
        Err(Refusal::NotFound | Refusal::NoWindow) => {
            Problem::not_found(format!("payment {payment_id} has no payment window"))
                .into_response()
        }
        Err(Refusal::AlreadyCompleted(s)) => {
            Problem::conflict(format!("payment {payment_id} is already {}", s.as_str()))
                .into_response()
        }
    }
}
