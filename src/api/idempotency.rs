//! `Idempotency-Key` on POST: the same key and the same request get the stored answer (with
//! `Idempotent-Replayed: true`); the same key with a different request is a 409. The fingerprint
//! covers method, path and body bytes; only the answer is stored, never the request (it may
//! carry card details).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::ApiState;
use super::extract::{BodyLimit, read_body};
use super::problem::ApiError;
use crate::store::idempotency::Claim;

pub const HEADER: &str = "idempotency-key";

pub async fn replay_or_record(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    match handle(state, key, req, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handle(
    state: ApiState,
    key: HeaderValue,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
            .into_response()
        })?
        .to_owned();
    let (parts, body) = req.into_parts();
    let bytes = read_body(body, BodyLimit::from_ref(&state))
        .await
        .map_err(IntoResponse::into_response)?;
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let fingerprint = fingerprint(parts.method.as_str(), path, &bytes);

    let claim = state
        .store
        .claim_idempotency_key(&key, &fingerprint, state.clock.now())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    match claim {
        Claim::Replay { status, body } => Ok(stored(status, body)),
        Claim::Mismatch => Err(ApiError::conflict(format!(
            "Idempotency-Key {key:?} was already used with a different request; use a new key for a new request"
        ))
        .with_kind("idempotency-key-in-use")
        .into_response()),
        Claim::InProgress => Err(ApiError::conflict(format!(
            "a request with Idempotency-Key {key:?} is still being processed; retry shortly"
        ))
        .with_kind("idempotency-key-in-progress")
        .into_response()),
        Claim::Fresh => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (mut head, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX)
                .await
                .map_err(|e| ApiError::internal(e).into_response())?;
            let recorded = if head.status.is_server_error() {
                state.store.release_idempotency_key(&key).await
            } else {
                state.store.finish_idempotent(&key, head.status.as_u16(), &body).await
            };
            if let Err(e) = recorded {
                tracing::error!(error = %e, "could not record an idempotent answer");
            }
            head.headers.insert("idempotent-replayed", HeaderValue::from_static("false"));
            Ok(Response::from_parts(head, Body::from(body)))
        }
    }
}

fn stored(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// What identifies a request under its key: method, path with query, body bytes.
fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method);
    hasher.update(b" ");
    hasher.update(path);
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().into()
}

/// The console's actions: `run` (an API handler) under `key` with the same record as a POST
/// of `body` to `path` with that Idempotency-Key, so a form submitted twice acts once and the
/// repeat gets the first answer. Returns the answer's status and body, and whether it was
/// replayed.
pub(crate) async fn once(
    state: &ApiState,
    key: &str,
    path: &str,
    body: &[u8],
    run: impl Future<Output = Response>,
) -> Result<(StatusCode, Vec<u8>, bool), ApiError> {
    let fingerprint = fingerprint("POST", path, body);
    let claim = state
        .store
        .claim_idempotency_key(key, &fingerprint, state.clock.now())
        .await?;
    match claim {
        Claim::Replay { status, body } => Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body,
            true,
        )),
        Claim::Mismatch => Err(ApiError::conflict(
            "this form was already used for a different action; open the action again",
        )),
        Claim::InProgress => Err(ApiError::conflict(
            "this action is still being processed; reload in a moment",
        )),
        Claim::Fresh => {
            let (head, answer) = run.await.into_parts();
            let answer = to_bytes(answer, usize::MAX)
                .await
                .map_err(ApiError::internal)?
                .to_vec();
            if head.status.is_server_error() {
                state.store.release_idempotency_key(key).await?;
            } else {
                let status = head.status.as_u16();
                state.store.finish_idempotent(key, status, &answer).await?;
            }
            Ok((head.status, answer, false))
        }
    }
}
