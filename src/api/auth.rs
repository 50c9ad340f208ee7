//! Every /v1 route needs `Authorization: Bearer <admin token>`. The comparison is over SHA-256
//! digests with a constant-time equality, so neither the token's bytes nor its length leak
//! through timing.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiState;
use super::problem::ApiError;

pub async fn require_admin(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let expected = Sha256::digest(state.admin_token.expose_secret().as_bytes());
    let ok = presented
        .map(|p| bool::from(Sha256::digest(p.as_bytes()).ct_eq(&expected)))
        .unwrap_or(false);
    if ok {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}
