//! `/payment`: create (initializing or subsequent RECURRING), retrieve one,
//! search the collection.

mod create;
mod outcome;
mod record;
mod request;
mod store;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::auth;
use super::hal::{self, Origin, link};
use super::problem::Problem;
use super::state::CertiTradeState;

pub use create::create;
pub use record::{Attempt, Payment, PaymentState};
pub use store::PaymentStore;

/// `GET /payment/{id}`
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
    match state.payments.get(&id) {
        Some(payment) => {
            let origin = Origin::from_headers(&headers);
            hal::reply(StatusCode::OK, &payment.to_json(&state.merchant(), &origin)).into_response()
        }
        None => Problem::not_found(format!("payment {id} was not found")).into_response(),
    }
}

/// `GET /payment?reference=…` — how a client finds a payment whose answer it
/// never received. Every documented searchable field filters by exact match
/// on its printed value; other parameters (paging: `size`, `offset`, `order`,
/// `order_by`) are ignored and all matches come back in one page, oldest
/// first.
pub async fn search(
    State(state): State<Arc<CertiTradeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> Response {
    if let Err(problem) = auth::verify(&state, &method, &uri, &headers, &body) {
        return problem.into_response();
    }
    let Ok(Query(filters)) = query else {
        return Problem::bad_request("The query string is not valid").into_response();
    };
    let merchant = state.merchant();
    let found = state.payments.filter(|p| {
        filters
            .iter()
            .all(|(name, wanted)| searchable(p, name, &merchant).is_none_or(|v| v == *wanted))
    });
    let origin = Origin::from_headers(&headers);
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let payments: Vec<_> = found
        .iter()
        .map(|p| p.to_json(&merchant, &origin))
        .collect();
    let body = json!({
        "count": payments.len(),
        "total_size": payments.len().to_string(),
        "_links": {"self": link(origin.absolute(path))},
        "_embedded": {"payment": payments},
    });
    hal::reply(StatusCode::OK, &body).into_response()
}

/// The printed value of a searchable field; `None` for anything else.
fn searchable(p: &Payment, name: &str, merchant: &str) -> Option<String> {
    Some(match name {
        "merchant" => merchant.to_owned(),
        "amount" => p.amount.to_string(),
        "currency" => p.currency.clone(),
        "method" => "RECURRING".to_owned(),
        "reference" => p.reference.clone(),
        "state" => p.state.as_str().to_owned(),
        "language" => p.language.clone(),
        "payment_account" => p.payment_account.clone(),
        _ => return None,
    })
}
