//! HAL answers and the absolute links inside them.
//!
//! Links are built from the request's `Host` header rather than the bound
//! address, so they stay right behind port mappings (Docker) and match the
//! URL the client signed.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::{API_PREFIX, PAYWIN_PREFIX};
use crate::support::reply::Reply;

pub const CONTENT_TYPE: &str = "application/hal+json";

pub fn reply(status: StatusCode, value: &Value) -> Reply {
    Reply::typed_json(status, CONTENT_TYPE, value)
}

/// `http://{Host}`, from which every absolute link is derived.
#[derive(Debug, Clone)]
pub struct Origin(String);

impl Origin {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        Origin(format!("http://{host}"))
    }

    /// Absolute API URL for `path` (which starts with `/`).
    pub fn api(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.0)
    }

    pub fn paywin(&self, payment_id: &str) -> String {
        format!("{}{PAYWIN_PREFIX}/{payment_id}", self.0)
    }

    /// What the client asked for, e.g. a search URL for `_links.self`.
    pub fn absolute(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.0)
    }
}

/// `{"href": url}`, HAL's link object.
pub fn link(href: String) -> Value {
    json!({ "href": href })
}
