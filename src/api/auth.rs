//! Every /v1 route needs `Authorization: Bearer <admin token>`: any of the tokens in force (two
//! while a rotation is under way; see `config::rotating`). The comparison is over SHA-256
//! digests with a constant-time equality, and every token in force is compared, so neither a
//! token's bytes, its length nor which one matched leak through timing.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
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
    let ok = presented.is_some_and(|p| token_matches(p, &state.admin_tokens.current()));
    if ok {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Whether `presented` is one of `tokens`, in constant time over their SHA-256 digests (the
/// console's sign-in uses the same check).
pub fn token_matches(presented: &str, tokens: &[SecretString]) -> bool {
    let digest = Sha256::digest(presented.as_bytes());
    tokens.iter().fold(false, |any, token| {
        let expected = Sha256::digest(token.expose_secret().as_bytes());
        any | bool::from(digest.ct_eq(&expected))
    })
}
