//! A fully materialised HTTP answer, and the ways of (mis)delivering it.
//!
//! Idempotent replays must be byte-identical to the original answer, so
//! handlers produce a `Reply` (status, content type, exact body bytes) that can
//! be stored, and only turn it into a live response at the very end — which is
//! also where the fault injections (drop, garbage) hook in.

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
        let body = serde_json::to_vec(value).expect("json value serializes");
        Reply::new(status, "application/json", body.into())
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

/// How the final answer reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Normal,
    /// Send the status line and headers, then fail the body stream: the client
    /// learns nothing about the outcome, exactly like a connection reset.
    Drop,
    /// Keep the status but replace the body with bytes that are not JSON.
    Garbage,
}

pub fn deliver(reply: Reply, delivery: Delivery) -> Response {
    match delivery {
        Delivery::Normal => reply.into_response(),
        Delivery::Drop => {
            let failing = futures::stream::once(async {
                // Pausing first lets hyper flush the status line and headers:
                // an immediately failing body would abort before anything is
                // written, and the client would see a send error instead of
                // the intended "201 received, body lost".
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
        Delivery::Garbage => Reply::new(
            reply.status,
            reply.content_type,
            Bytes::from_static(b"<<garbage from upstream proxy>> {\"paymentId\": tru"),
        )
        .into_response(),
    }
}

/// What a load balancer in front of a crashed gateway answers: an HTML page,
/// not problem+json, so clients must not assume every error body parses.
pub fn html_server_error() -> Response {
    Reply::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/html; charset=utf-8",
        Bytes::from_static(
            b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\
<body><h1>Internal Server Error</h1><p>The server encountered an unexpected condition.</p>\
</body></html>\n",
        ),
    )
    .into_response()
}
