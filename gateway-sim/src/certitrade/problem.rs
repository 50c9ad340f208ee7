//! CertiTrade's "API Problem" error body (`application/api-problem+json`):
//! `describedBy`, `title`, `detail`, `httpStatus` — the pre-RFC 7807 draft
//! shape, not Payroc's `type`/`status`. Every 4xx/5xx of the API uses it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::support::reply::Reply;

pub const CONTENT_TYPE: &str = "application/api-problem+json";
/// The URL CertiTrade's own documentation example puts in `describedBy`.
const DESCRIBED_BY: &str = "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub described_by: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub http_status: u16,
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            described_by: DESCRIBED_BY,
            title,
            detail: detail.into(),
            http_status: status.as_u16(),
        }
    }

    /// Input error; `detail` always names the offending field.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    /// Missing, unreadable or stale `Date` header.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }

    /// Bad signature or credentials; the title is the one CertiTrade's test
    /// server answers (CertiTrade's node client asserts on it).
    pub fn not_authorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "Not authorized", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "Not Found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "Conflict", detail)
    }

    pub fn server_error(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            detail,
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn into_reply(self) -> Reply {
        let body = serde_json::to_vec(&self).expect("problem serializes");
        Reply::new(self.status_code(), CONTENT_TYPE, body.into())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.into_reply().into_response()
    }
}
