//! The signed-in operator: the session cookie read and checked against Postgres (which keeps
//! only its SHA-256). Every console page extracts a `Session` first.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use super::Console;
use crate::store::to_db;

pub(super) const COOKIE: &str = "billingd_console";

/// A signed-in operator: what every console page extracts first.
pub struct Session {
    pub csrf: String,
}

/// A request without a valid session is sent to sign in; nothing else about it is answered.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl FromRequestParts<Console> for Session {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let refuse = || SignInFirst(c.url("/sign-in"));
        let Some(id) = cookie(&parts.headers) else {
            return Err(refuse());
        };
        let now = to_db(c.api.clock.now());
        let csrf: Option<String> = sqlx::query_scalar(
            "SELECT csrf_token FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(hash(&id))
        .bind(now)
        .fetch_optional(c.api.store.pool())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "console: could not read a session");
            refuse()
        })?;
        csrf.map(|csrf| Session { csrf }).ok_or_else(refuse)
    }
}

pub(super) fn cookie(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

/// The value of cookie `name` when it is 64 hex digits (what billingd sets), else None.
pub(super) fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(super) fn hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// 244 random bits from the OS (two v4 UUIDs), as 64 hex digits.
pub fn random_hex() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
