//! A fully materialised HTTP answer, and the one way of losing it in transit
//! that both gateways simulate (a connection that dies after the headers).
//!
//! Idempotent replays must be byte-identical to the original answer, so
//! handlers produce a `Reply` (status, content type, exact body bytes) that can
//! be stored, and only turn it into a live response at the very end — which is
//! also where the fault injections hook in.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

const HEADERS_FLUSH_PAUSE: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl Reply {
    pub fn new(status: StatusCode, content_type: &'static str, body: Bytes) -> Self {
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        Reply::typed_json(status, "application/json", value)
    }

    /// JSON under a vendor media type (`application/hal+json`, …).
    pub fn typed_json(
        status: StatusCode,
        content_type: &'static str,
        value: &serde_json::Value,
    ) -> Self {
        let body = serde_json::to_vec(value).expect("json value serializes");
        Reply::new(status, content_type, body.into())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        response
    }
}

/// Sends the status line and headers, then fails the body stream: the client
/// learns nothing about the outcome, exactly like a connection reset.
pub fn dropped(reply: Reply) -> Response {
    let failing = futures::stream::once(async {
        // Pausing first lets hyper flush the status line and headers: an
        // immediately failing body would abort before anything is written,
        // and the client would see a send error instead of the intended
        // "201 received, body lost".
        tokio::time::sleep(HEADERS_FLUSH_PAUSE).await;
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "gateway-sim: simulated connection drop",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    *response.status_mut() = reply.status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    response
}
