//! Payroc bearer tokens: fetched from the identity service with the API key, cached, refreshed
//! a margin before they expire, by one task at a time (the lock is held across the refresh, so
//! a hundred concurrent sales cause one identity call, not a hundred).

use crate::config::rotating::RotatingSecret;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct Bearer {
    pub value: SecretString,
    expires_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Clone)]
pub struct TokenSource {
    http: reqwest::Client,
    authorize_url: String,
    /// Read again from `payroc.api_key_file` when it changes: a rotated key is used from the
    /// next bearer token on (the first line, when the file lists several).
    api_key: RotatingSecret,
    margin: Duration,
    cached: Arc<Mutex<Option<Bearer>>>,
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        identity_url: &str,
        api_key: RotatingSecret,
        margin: Duration,
    ) -> Self {
        TokenSource {
            http,
            authorize_url: format!("{}/authorize", identity_url.trim_end_matches('/')),
            api_key,
            margin,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// A bearer token valid for at least the margin.
    pub async fn bearer(&self) -> Result<Bearer, String> {
        let mut cached = self.cached.lock().await;
        if let Some(b) = cached.as_ref()
            && Instant::now() + self.margin < b.expires_at
        {
            return Ok(b.clone());
        }
        let fresh = self.authorize().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops `stale` after the API refused it, unless another task already replaced it.
    pub async fn invalidate(&self, stale: &Bearer) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|b| b.value.expose_secret() == stale.value.expose_secret())
        {
            *cached = None;
        }
    }

    async fn authorize(&self) -> Result<Bearer, String> {
        let started = Instant::now();
        let keys = self.api_key.current();
        let key = keys.first().ok_or("payroc.api_key holds no key")?;
        let response = self
            .http
            .post(&self.authorize_url)
            .header("x-api-key", key.expose_secret())
            .send()
            .await
            .map_err(|e| format!("Payroc identity service unreachable: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("Payroc identity service answer cut off: {e}"))?;
        if status != 200 {
            return Err(format!(
                "Payroc identity service refused the API key: {}",
                super::transformers::problem_message(status, &body)
            ));
        }
        let token: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| format!("Payroc identity service answer unreadable: {e}"))?;
        tracing::info!(
            expires_in = token.expires_in,
            "Payroc bearer token refreshed"
        );
        Ok(Bearer {
            value: SecretString::from(token.access_token),
            expires_at: started + Duration::from_secs(token.expires_in),
        })
    }
}
