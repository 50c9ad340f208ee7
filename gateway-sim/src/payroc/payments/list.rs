//! `GET /payments`: the list a client pages through to reconcile with Payroc's ledger, with the
//! filters billingd uses (`orderId`, `processingTerminalId`, `dateFrom`, `dateTo`) and Payroc's
//! cursor paging: `limit`, `after` / `before` (a paymentId; never both), and `links` whose
//! `next` / `previous` hrefs carry the same filters. A date that is not an ISO 8601 date-time, a
//! cursor that names no listed payment, or both cursors at once is a 400, as a typed API answers.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store::{ListFilter, Page};
use crate::payroc::problem::Problem;
use crate::payroc::state::PayrocState;
use crate::support::clock::parse_rfc3339_millis;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    order_id: Option<String>,
    processing_terminal_id: Option<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    before: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /payments`
pub async fn list(
    State(state): State<Arc<PayrocState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(problem) = state.auth.check(&headers) {
        return problem.into_response();
    }
    let Query(query) = match query {
        Ok(q) => q,
        Err(rejection) => return Problem::invalid("query", rejection.body_text()).into_response(),
    };
    let (filter, limit) = match read(&query) {
        Ok(read) => read,
        Err(problem) => return problem.into_response(),
    };
    let Some(page) = state.payments.list(&filter, limit) else {
        let cursor = query.after.or(query.before).unwrap_or_default();
        return Problem::invalid("after", format!("{cursor} is not a payment of this list"))
            .into_response();
    };
    let data: Vec<_> = page
        .payments
        .iter()
        .map(|p| p.to_json(state.result_field))
        .collect();
    let links = links(&headers, &uri, &page);
    Json(json!({
        "limit": limit,
        "count": data.len(),
        "hasMore": page.has_more,
        "links": links,
        "data": data,
    }))
    .into_response()
}

fn read(query: &ListQuery) -> Result<(ListFilter, usize), Problem> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if query.before.is_some() && query.after.is_some() {
        return Err(Problem::invalid(
            "before",
            "before and after cannot be sent together".to_owned(),
        ));
    }
    let date = |name: &str, value: &Option<String>| match value {
        None => Ok(None),
        Some(text) => parse_rfc3339_millis(text).map(Some).ok_or_else(|| {
            Problem::invalid(
                name,
                format!("{name} {text:?} is not an ISO 8601 date-time"),
            )
        }),
    };
    Ok((
        ListFilter {
            order_id: query.order_id.clone(),
            terminal: query.processing_terminal_id.clone(),
            from_ms: date("dateFrom", &query.date_from)?,
            to_ms: date("dateTo", &query.date_to)?,
            before: query.before.clone(),
            after: query.after.clone(),
        },
        limit,
    ))
}

/// `next` (after the page's last payment) while more follow, `previous` (before its first)
/// when the page was reached through a cursor; each href keeps the request's filters.
fn links(headers: &HeaderMap, uri: &Uri, page: &Page) -> Vec<Value> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("after=") && !p.starts_with("before="))
        .collect();
    let href = |cursor: String| {
        let mut params = kept.clone();
        params.push(&cursor);
        format!("http://{host}{}?{}", uri.path(), params.join("&"))
    };
    let mut links = Vec::new();
    if let (true, Some(last)) = (page.has_more, page.payments.last()) {
        let next = href(format!("after={}", last.payment_id));
        links.push(json!({"rel": "next", "method": "get", "href": next}));
    }
    if let (true, Some(first)) = (page.from_cursor, page.payments.first()) {
        let previous = href(format!("before={}", first.payment_id));
        links.push(json!({"rel": "previous", "method": "get", "href": previous}));
    }
    links
}
