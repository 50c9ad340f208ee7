//! `/payments`: create a sale on a secure token, retrieve one, list by order.

mod create;
mod outcome;
mod record;
mod request;
mod store;

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::state::PayrocState;

pub use create::create;
pub use store::PaymentStore;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

/// `GET /payments/{paymentId}`
pub async fn retrieve(
    State(state): State<Arc<PayrocState>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = state.auth.check(&headers) {
        return problem.into_response();
    }
    match state.payments.retrieve(&payment_id) {
        Some(payment) => Json(payment.to_json(state.result_field)).into_response(),
        None => Problem::not_found(format!("Payment {payment_id} was not found")).into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    order_id: Option<String>,
    processing_terminal_id: Option<String>,
    limit: Option<usize>,
}

/// `GET /payments?orderId=…` — what a client uses to reconcile an unknown
/// outcome. Only the filters billingd needs are implemented.
pub async fn list(
    State(state): State<Arc<PayrocState>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(problem) = state.auth.check(&headers) {
        return problem.into_response();
    }
    let Query(query) = match query {
        Ok(q) => q,
        Err(rejection) => return Problem::invalid("query", rejection.body_text()).into_response(),
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Problem::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}"))
            .into_response();
    }
    let (payments, has_more) = state.payments.list(
        query.order_id.as_deref(),
        query.processing_terminal_id.as_deref(),
        limit,
    );
    let data: Vec<_> = payments
        .iter()
        .map(|p| p.to_json(state.result_field))
        .collect();
    Json(json!({
        "limit": limit,
        "count": data.len(),
        "hasMore": has_more,
        "data": data,
    }))
    .into_response()
}
