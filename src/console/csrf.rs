//! Every state-changing form carries its session's CSRF token in a hidden field; a POST whose
//! token is missing or different is refused (403) before anything is done. With the
//! `SameSite=Strict` cookie this is the second lock, not the only one.

use axum::http::StatusCode;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::Console;
use super::render;
use super::signed_in::Session;

/// The refusal page when `presented` is not the session's token; None when it is.
pub fn refusal(c: &Console, session: &Session, presented: &str) -> Option<Response> {
    let same = presented.len() == session.csrf.len()
        && bool::from(presented.as_bytes().ct_eq(session.csrf.as_bytes()));
    if same {
        return None;
    }
    tracing::warn!(
        event = "console.csrf_refused",
        "console form without its CSRF token"
    );
    Some(render::failure(
        c,
        Some(session),
        StatusCode::FORBIDDEN,
        "This form is not from this session (its CSRF token is missing or stale). Open the page again and retry.",
    ))
}
