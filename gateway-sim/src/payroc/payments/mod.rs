//! `/payments`: create a sale on a secure token, retrieve one, list them.

mod create;
mod list;
mod outcome;
mod record;
mod request;
mod store;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use super::state::PayrocState;

pub use create::create;
pub use list::list;
pub use store::PaymentStore;

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
