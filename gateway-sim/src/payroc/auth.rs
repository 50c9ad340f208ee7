//! Payroc identity service (`POST /authorize` with `x-api-key`) and the bearer
//! check every API route performs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::problem::Problem;
use super::state::PayrocState;
use crate::support::random;

pub struct AuthStore {
    api_keys: Vec<String>,
    ttl: Duration,
    /// Issued bearer tokens and when they stop being valid.
    tokens: Mutex<HashMap<String, Instant>>,
}

impl AuthStore {
    pub fn new(api_keys: Vec<String>, ttl: Duration) -> Self {
        AuthStore {
            api_keys,
            ttl,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn issue(&self, api_key: Option<&str>) -> Result<String, Problem> {
        let Some(api_key) = api_key else {
            return Err(Problem::unauthorized("The x-api-key header is missing"));
        };
        if !self.api_keys.iter().any(|k| k == api_key) {
            return Err(Problem::unauthorized("The API key is not valid"));
        }
        let token = random::opaque(48);
        let expires = Instant::now() + self.ttl;
        self.tokens
            .lock()
            .expect("auth tokens poisoned")
            .insert(token.clone(), expires);
        Ok(token)
    }

    /// Validates `Authorization: Bearer <token>`.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Problem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| Problem::unauthorized("A Bearer token is required"))?;
        let mut tokens = self.tokens.lock().expect("auth tokens poisoned");
        match tokens.get(token) {
            Some(expires) if *expires > Instant::now() => Ok(()),
            Some(_) => {
                tokens.remove(token);
                Err(Problem::unauthorized("The Bearer token has expired"))
            }
            None => Err(Problem::unauthorized("The Bearer token is not valid")),
        }
    }

    /// Simulates an identity-service key rotation: every issued token dies.
    pub fn expire_all(&self) -> usize {
        let mut tokens = self.tokens.lock().expect("auth tokens poisoned");
        let n = tokens.len();
        tokens.clear();
        n
    }
}

/// `POST /payroc-identity/authorize`
pub async fn authorize(State(state): State<Arc<PayrocState>>, headers: HeaderMap) -> Response {
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    match state.auth.issue(api_key) {
        Ok(token) => (
            StatusCode::OK,
            Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": state.auth.ttl.as_secs(),
                "scope": "payments secure-tokens",
            })),
        )
            .into_response(),
        Err(problem) => {
            tracing::info!("payroc identity: rejected API key");
            problem.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        h.insert(header::AUTHORIZATION, value);
        h
    }

    #[test]
    fn issue_check_expire() {
        let store = AuthStore::new(vec!["k".into()], Duration::from_secs(60));
        assert!(store.issue(None).is_err());
        assert!(store.issue(Some("nope")).is_err());
        let token = store.issue(Some("k")).unwrap();
        assert!(store.check(&bearer(&token)).is_ok());
        assert!(store.check(&bearer("other")).is_err());
        assert!(store.check(&HeaderMap::new()).is_err());
        assert_eq!(store.expire_all(), 1);
        assert!(store.check(&bearer(&token)).is_err());
    }

    #[test]
    fn zero_ttl_is_immediately_expired() {
        let store = AuthStore::new(vec!["k".into()], Duration::ZERO);
        let token = store.issue(Some("k")).unwrap();
        assert!(store.check(&bearer(&token)).is_err());
    }
}
