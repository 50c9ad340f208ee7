//! Delivering webhook events: a task of its own, apart from billing runs, so a slow or dead
//! receiver delays nothing but its own deliveries. Each endpoint has its own loop and its own
//! `concurrency` slots, so one dead receiver does not hold up the others either. A loop claims
//! due deliveries under a lease (safe with several replicas), POSTs them signed, and records
//! each answer: 2xx → delivered; anything else → redelivered after exponential backoff, until
//! `max_attempts` POSTs have been made.

use jiff::SignedDuration;
use reqwest::header::CONTENT_TYPE;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::sign;
use super::store::{AttemptResult, ClaimedDelivery};
use crate::clock::Clock;
use crate::config::rotating::RotatingSecret;
use crate::config::{WebhookSettings, mask_url_password};
use crate::store::Store;

/// How much of a refusing receiver's answer is kept in `last_error`.
const ERROR_BODY_BYTES: usize = 256;

pub struct WebhookWorker {
    store: Store,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// The signing secret(s) in force: each signs every POST while a rotation is under way.
    secrets: RotatingSecret,
    settings: WebhookSettings,
    shutdown: CancellationToken,
}

impl WebhookWorker {
    /// A worker for the configured endpoints; None when there is nothing to deliver to.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: &WebhookSettings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Option<Arc<WebhookWorker>>> {
        if settings.active_endpoints().is_empty() {
            return Ok(None);
        }
        let secret = settings.secret.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "webhooks.secret is not set: set BILLINGD_WEBHOOKS__SECRET or webhooks.secret_file \
                 (or webhooks.enabled = false)"
            )
        })?;
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout.get())
            // A redirect is an answer, not a delivery: following it could POST signed events to
            // wherever the receiver (or whoever took its name) points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("billingd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Arc::new(WebhookWorker {
            store,
            clock,
            http,
            secrets: RotatingSecret::new(
                "webhooks.secret",
                secret,
                settings.secret_file.as_deref(),
            ),
            settings: settings.clone(),
            shutdown,
        })))
    }

    /// Delivers until the shutdown token is cancelled; POSTs in flight then get
    /// `request_timeout` to finish (one cut off is POSTed again after its lease: at least once).
    pub fn spawn(self: Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut loops = JoinSet::new();
            for endpoint in self.settings.active_endpoints() {
                loops.spawn(Arc::clone(&self).run_endpoint(endpoint));
            }
            tracing::info!(endpoints = loops.len(), "webhook delivery worker running");
            while loops.join_next().await.is_some() {}
        })
    }

    /// A claim outlives the longest POST, with room to record its answer.
    fn lease(&self) -> SignedDuration {
        let longest = self.settings.request_timeout.get().saturating_mul(2);
        SignedDuration::try_from(longest.saturating_add(Duration::from_secs(30)))
            .unwrap_or(SignedDuration::MAX)
    }

    async fn run_endpoint(self: Arc<Self>, endpoint: String) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut in_flight: JoinSet<()> = JoinSet::new();
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            let free = slots.available_permits();
            if free > 0 {
                let claimed = self
                    .store
                    .claim_webhook_deliveries(
                        &endpoint,
                        self.clock.now(),
                        self.lease(),
                        free as i64,
                    )
                    .await;
                match claimed {
                    Ok(deliveries) => {
                        for d in deliveries {
                            let Ok(permit) = slots.clone().try_acquire_owned() else {
                                break; // cannot happen: at most `free` rows were claimed
                            };
                            let this = Arc::clone(&self);
                            in_flight.spawn(async move {
                                this.deliver(d).await;
                                drop(permit);
                            });
                        }
                    }
                    // The database is away: the claims wait for it, billing is not involved.
                    Err(e) => tracing::warn!(error = %e, "webhook deliveries could not be claimed"),
                }
            }
            while in_flight.try_join_next().is_some() {}
            // Claim again when a slot frees up or the poll interval passes.
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(self.settings.poll_interval.get()) => {}
            }
        }
        let grace = self.settings.request_timeout.get();
        let _ = tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
    }

    /// One POST of one delivery, and its record.
    async fn deliver(&self, d: ClaimedDelivery) {
        let started_at = self.clock.now();
        let body = serde_json::to_vec(&d.payload).expect("a JSON value serializes");
        let timestamp = started_at.as_second();
        let signature = sign::signatures(&self.secrets.current(), timestamp, &body);
        let started = Instant::now();
        let answer = self
            .http
            .post(&d.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header("Billingd-Event-Id", d.event_id.to_string())
            .header("Billingd-Event-Type", &d.kind)
            .header("Billingd-Timestamp", timestamp.to_string())
            .header("Billingd-Signature", signature)
            .body(body)
            .send()
            .await;
        let (http_status, error) = match answer {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => {
                let status = r.status().as_u16();
                (Some(status), Some(refusal(status, r).await))
            }
            Err(e) => (None, Some(transport_error(&e))),
        };
        let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let now = self.clock.now();
        let (status, next_attempt_at) = if error.is_none() {
            ("delivered", now)
        } else if d.attempt_no >= self.settings.max_attempts as i32 {
            ("failed", now)
        } else {
            let wait = sign::backoff(
                d.attempt_no as u32,
                self.settings.backoff_min.get(),
                self.settings.backoff_max.get(),
                sign::random_unit(),
            );
            let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX);
            ("pending", now.checked_add(wait).unwrap_or(now))
        };
        let endpoint = mask_url_password(&d.endpoint);
        match status {
            "delivered" => tracing::debug!(event = "webhook.delivered", event_id = %d.event_id,
                kind = %d.kind, endpoint, attempt = d.attempt_no, duration_ms, "webhook delivered"),
            "pending" => tracing::info!(event = "webhook.retry", event_id = %d.event_id,
                kind = %d.kind, endpoint, attempt = d.attempt_no, http_status,
                error = error.as_deref(), next_attempt_at = %next_attempt_at,
                "webhook not accepted; will redeliver"),
            _ => tracing::error!(event = "webhook.failed", event_id = %d.event_id,
                kind = %d.kind, endpoint, attempts = d.attempt_no, http_status,
                error = error.as_deref(), "webhook delivery given up after max_attempts"),
        }
        let result = AttemptResult {
            started_at,
            http_status,
            error,
            duration_ms,
            status,
            next_attempt_at,
        };
        if let Err(e) = self.store.record_webhook_attempt(&d, &result, now).await {
            // The lease runs out and the delivery is POSTed again: at least once, never lost.
            tracing::warn!(event_id = %d.event_id, error = %e, "webhook attempt not recorded");
        }
    }
}

/// "HTTP 503: <the start of the answer>", for `last_error`.
async fn refusal(status: u16, mut r: reqwest::Response) -> String {
    let mut head = Vec::new();
    while head.len() < ERROR_BODY_BYTES {
        match r.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            _ => break,
        }
    }
    head.truncate(ERROR_BODY_BYTES);
    let text = String::from_utf8_lossy(&head).replace('\0', "");
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// The cause of a failed request, without its URL (which may carry credentials).
fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
