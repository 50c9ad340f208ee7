//! The payment window (`_links.paywin.href`): what the customer's browser
//! opens. No API authentication — it is the customer, not the merchant.
//! `?card=<digits>` picks the card typed in (default `123456789000`),
//! `?expiry=MMYY` its expiry (default 12/30); a CVC is implied. 3-D Secure
//! cards pass their challenge instantly. The answer is HTML, the callback
//! goes out in the background.

mod complete;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::cards::{self, Card};
use super::state::CertiTradeState;
use crate::support::reply::Reply;

pub use complete::{Refusal, complete};

#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    card: Option<String>,
    expiry: Option<String>,
}

/// `GET /certitrade/paywin/{payment_id}`
pub async fn open(
    State(state): State<Arc<CertiTradeState>>,
    Path(payment_id): Path<String>,
    query: Result<Query<WindowQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The query string is not valid.",
        );
    };
    let card = match card_from(query.card.as_deref(), query.expiry.as_deref()) {
        Ok(card) => card,
        Err(message) => return page(StatusCode::BAD_REQUEST, "Bad request", &message),
    };
    match complete(&state, &payment_id, card) {
        Ok(done) => {
            if let Some(notice) = done.notice {
                state
                    .callbacks
                    .send(notice, state.merchant(), state.api_key.clone());
            }
            let (title, text) = if done.approved {
                (
                    "Payment approved",
                    "Payment approved — you may close this window.",
                )
            } else {
                ("Payment declined", "Payment declined.")
            };
            let back = done
                .payment
                .return_url
                .as_deref()
                .map(|url| format!(" <a href=\"{}\">Return to the shop</a>", escape(url)))
                .unwrap_or_default();
            page(StatusCode::OK, title, &format!("{}{back}", escape(text)))
        }
        Err(refusal) => refused(&refusal),
    }
}

/// A card from the window's (or `/_sim`'s) parameters, defaults applied.
pub fn card_from(card: Option<&str>, expiry: Option<&str>) -> Result<Card, String> {
    let number = cards::normalize(card.unwrap_or(cards::DEFAULT_CARD))
        .ok_or("card must be 12 to 19 digits")?;
    let expiry = match expiry {
        None => cards::DEFAULT_EXPIRY.to_owned(),
        Some(raw) => cards::normalize_expiry(raw).ok_or("expiry must be MMYY or MM/YY")?,
    };
    Ok(Card::new(&number, &expiry))
}

fn refused(refusal: &Refusal) -> Response {
    match refusal {
        Refusal::NotFound | Refusal::NoWindow => page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no payment window for this payment.",
        ),
        Refusal::AlreadyCompleted(s) => page(
            StatusCode::CONFLICT,
            "Payment already completed",
            &format!(
                "This payment is {} and can no longer be paid here.",
                s.as_str()
            ),
        ),
    }
}

/// `title` is trusted text; `body_html` must already be escaped.
fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>CertiTrade (simulated) — {title}</title></head>\
<body><h1>{title}</h1><p>{body_html}</p></body></html>\n"
    );
    Reply::new(status, "text/html; charset=utf-8", Bytes::from(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
