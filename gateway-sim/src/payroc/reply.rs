//! How a Payroc answer reaches the client: normally, or mangled by one of the
//! fault injections (drop, garbage). The `Reply` itself lives in
//! `support::reply` because CertiTrade stores and replays answers the same way.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

pub use crate::support::reply::Reply;
use crate::support::reply::dropped;

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
        Delivery::Drop => dropped(reply),
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
