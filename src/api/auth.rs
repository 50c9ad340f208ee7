//! Every /v1 route needs `Authorization: Bearer <admin token>`: any of the tokens in force (two
//! while a rotation is under way; see `config::rotating`). The comparison is over SHA-256
//! digests with a constant-time equality, and every token in force is compared, so neither a
//! token's bytes, its length nor which one matched leak through timing.

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
    let ok = presented.is_some_and(|p| {
        let digest = Sha256::digest(p.as_bytes());
        state
            .admin_tokens
            .current()
            .iter()
            .fold(false, |any, token| {
                let expected = Sha256::digest(token.expose_secret().as_bytes());
                any | bool::from(digest.ct_eq(&expected))
            })
    });
    if ok {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}
