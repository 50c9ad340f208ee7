//! Errors as RFC 7807 problem documents. Every failure a client can cause is a 4xx naming what
//! is wrong (with field-level detail where there is a field); a 500 means a bug or an outage and
//! says nothing about internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// An RFC 7807 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:billingd:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// What is wrong with which field of the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Where in the request: a JSON path (`schedule.time_zone`), a query or path parameter.
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// What is wrong, in one sentence.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The request's fault (4xx), as against billingd's or its database's (5xx).
    pub fn is_client_error(&self) -> bool {
        self.status.is_client_error()
    }

    /// What is wrong, field by field; a problem about no one field is one entry without a field.
    pub fn field_errors(&self) -> Vec<FieldError> {
        if self.errors.is_empty() {
            vec![FieldError {
                field: String::new(),
                message: self.detail.clone(),
            }]
        } else {
            self.errors.clone()
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// A request that parses but whose `field` is unacceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            format!("{field}: {message}"),
        );
        e.errors.push(FieldError { field, message });
        e
    }

    /// A body over `api.max_body_bytes`, refused without reading the rest of it.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the request body is larger than api.max_body_bytes ({limit} bytes)"),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "send Authorization: Bearer <admin token>",
        )
    }

    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "gateway", "Gateway error", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }

    /// Logged in full, shown as nothing more than "internal error".
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "admin API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request could not be completed; nothing was changed",
        )
    }

    pub fn with_kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:billingd:problem:{}", self.kind),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A field a gateway's rules refused: a 422 naming it.
impl From<crate::gateway::rules::InputError> for ApiError {
    fn from(e: crate::gateway::rules::InputError) -> Self {
        ApiError::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            StoreError::Db(db) => {
                if let Some(pg) = db.as_database_error() {
                    // A constraint the request broke is the client's error, not ours.
                    if pg.is_foreign_key_violation()
                        || pg.is_check_violation()
                        || pg.is_unique_violation()
                    {
                        return ApiError::conflict(format!(
                            "the request conflicts with stored data: {}",
                            pg.message()
                        ));
                    }
                }
                ApiError::internal(db)
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
