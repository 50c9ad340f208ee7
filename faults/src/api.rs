//! The campaign drives billingd like a merchant's systems do: through the admin API of
//! whichever replica answers, with an Idempotency-Key on every write, retrying on another
//! replica when one is down or the database is restarting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::cluster::ADMIN_TOKEN;

#[derive(Debug)]
pub enum ApiError {
    /// A 4xx that is the answer (not a reason to retry).
    Refused(u16, String),
    /// The key is held by a request that never finished (its replica died mid-way).
    InProgress,
    GaveUp(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Refused(s, body) => write!(f, "HTTP {s}: {body}"),
            ApiError::InProgress => f.write_str("idempotency key still in progress"),
            ApiError::GaveUp(e) => write!(f, "gave up: {e}"),
        }
    }
}

pub struct Api {
    http: reqwest::Client,
    ports: Vec<u16>,
    next: AtomicUsize,
    pub sim: String,
}

impl Api {
    pub fn new(ports: Vec<u16>, sim: String) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(8))
                .build()
                .expect("http client"),
            ports,
            next: AtomicUsize::new(0),
            sim,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Value, ApiError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut in_progress_since: Option<Instant> = None;
        let mut last = String::new();
        while Instant::now() < deadline {
            let port = self.ports[self.next.fetch_add(1, Ordering::Relaxed) % self.ports.len()];
            let mut req = self
                .http
                .request(method.clone(), format!("http://127.0.0.1:{port}{path}"))
                .bearer_auth(ADMIN_TOKEN);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(serde_json::to_vec(b).expect("json"));
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.unwrap_or_default();
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if (200..300).contains(&status) {
                        return serde_json::from_slice(&bytes)
                            .map_err(|e| ApiError::GaveUp(format!("unreadable answer: {e}")));
                    }
                    if status == 409 && text.contains("in-progress") {
                        let since = *in_progress_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > Duration::from_secs(4) {
                            return Err(ApiError::InProgress);
                        }
                    } else if status < 500 {
                        return Err(ApiError::Refused(status, text));
                    }
                    last = format!("HTTP {status}: {text}");
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(ApiError::GaveUp(last))
    }

    pub async fn post(&self, path: &str, body: &Value, key: &str) -> Result<Value, ApiError> {
        self.call(Method::POST, path, Some(body), Some(key)).await
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.call(Method::GET, path, None, None).await
    }

    /// A `/_sim` control call (no auth, no retries needed: the simulator is never faulted).
    pub async fn sim_post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.sim))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(body)?)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "{path}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn sim_get(&self, path: &str) -> anyhow::Result<Value> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let resp = http.get(format!("{}{path}", self.sim)).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{path}: HTTP {}", resp.status());
        Ok(serde_json::from_slice(&resp.bytes().await?)?)
    }
}
