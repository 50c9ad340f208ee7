//! `/_sim/*`: test-only control and inspection endpoints. Unauthenticated on
//! purpose — they are not part of Payroc's API and exist only for assertions
//! and fault injection.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::faults::FaultPlan;
use super::problem::Problem;
use super::state::PayrocState;

pub fn router() -> Router<Arc<PayrocState>> {
    Router::new()
        .route("/ledger", get(ledger))
        .route("/requests", get(requests))
        .route("/tokens/{token}/terminate", post(terminate_token))
        .route("/auth/expire-all", post(expire_all))
        .route("/faults", post(arm_faults).get(current_faults))
        .route("/clock", post(set_clock))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerQuery {
    order_id: Option<String>,
}

async fn ledger(State(state): State<Arc<PayrocState>>, Query(q): Query<LedgerQuery>) -> Response {
    Json(state.ledger.snapshot(q.order_id.as_deref())).into_response()
}

async fn requests(State(state): State<Arc<PayrocState>>) -> Response {
    Json(state.requests.snapshot()).into_response()
}

async fn terminate_token(
    State(state): State<Arc<PayrocState>>,
    Path(token): Path<String>,
) -> Response {
    if state.tokens.terminate(&token) {
        tracing::info!("sim: secure token terminated (closed account)");
        Json(json!({"token": token, "terminated": true})).into_response()
    } else {
        Problem::not_found("Unknown secure token").into_response()
    }
}

async fn expire_all(State(state): State<Arc<PayrocState>>) -> Response {
    let expired = state.auth.expire_all();
    tracing::info!(expired, "sim: all bearer tokens expired");
    Json(json!({"expired": expired})).into_response()
}

async fn arm_faults(State(state): State<Arc<PayrocState>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body)
        .map_err(|e| e.to_string())
        .and_then(|plan| {
            plan.rates.check()?;
            Ok(plan)
        }) {
        Ok(plan) => {
            state.faults.arm(plan);
            tracing::info!(?plan, "sim: faults armed");
            Json(plan).into_response()
        }
        Err(err) => (
            StatusCode::BAD_REQUEST,
            format!("invalid faults body: {err}\n"),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ClockBody {
    now: String,
}

/// `POST /_sim/clock {"now": "2027-01-01T00:00:00Z"}`: the time both gateways stamp payments
/// with from now on (it then moves with the wall clock).
async fn set_clock(State(state): State<Arc<PayrocState>>, body: axum::body::Bytes) -> Response {
    let parsed = serde_json::from_slice::<ClockBody>(&body)
        .ok()
        .and_then(|b| crate::support::clock::parse_rfc3339_millis(&b.now));
    match parsed {
        Some(millis) => {
            state.clock.set_now(millis);
            Json(json!({"now": state.clock.now_rfc3339()})).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "expected {\"now\": \"<RFC 3339 date-time>\"}\n",
        )
            .into_response(),
    }
}

async fn current_faults(State(state): State<Arc<PayrocState>>) -> Response {
    Json(state.faults.current()).into_response()
}
