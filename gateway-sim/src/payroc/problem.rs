//! RFC 7807 problem details in Payroc's shape: `type` is a fragment link into
//! https://docs.payroc.com/api/errors, plus `title`, `status`, `detail` and an
//! optional `errors[]` of `{parameter, detail, message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::reply::Reply;

const ERRORS_BASE: &str = "https://docs.payroc.com/api/errors#";

#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub parameter: String,
    pub detail: String,
    pub message: String,
}

impl FieldError {
    pub fn new(parameter: &str, message: &str, detail: impl Into<String>) -> Self {
        FieldError {
            parameter: parameter.to_owned(),
            detail: detail.into(),
            message: message.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("{ERRORS_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// Validation failure; the wording follows Payroc's documented 400 example.
    pub fn bad_request(errors: Vec<FieldError>) -> Self {
        Problem {
            errors,
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad Request",
                "One or more validation errors occurred, see error section for more info",
            )
        }
    }

    /// A 400 about a single parameter.
    pub fn invalid(parameter: &str, detail: impl Into<String>) -> Self {
        Problem::bad_request(vec![FieldError::new(parameter, "Invalid value", detail)])
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            "Resource not found",
            detail,
        )
    }

    pub fn conflict(slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, slug, title, detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn into_reply(self) -> Reply {
        let body = serde_json::to_vec(&self).expect("problem serializes");
        Reply::new(self.status_code(), "application/problem+json", body.into())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.into_reply().into_response()
    }
}
