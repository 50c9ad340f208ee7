//! Merchant callbacks (docs/gateways.md, "CertiTrade: callbacks"): after the
//! payment window finishes, a form-encoded POST to the payment's
//! `callback_url` with `paymentid`, `merchantid`, `function`, `description`,
//! `timestamp` (`YYYYMMDDhhmmss`, UTC) and `sha256code` = hex
//! HMAC-SHA256(api key, paymentid + merchantid + function + description +
//! timestamp).
//!
//! CertiTrade does not document retries; the simulator makes one attempt and
//! up to two retries (after 250 ms and 1 s) on a non-2xx answer or a
//! connection error, resending the identical form (same timestamp and code).
//! Delivery runs in a background task so the customer's page is not held up
//! by a slow merchant.

mod log;

use std::sync::Arc;
use std::time::Duration;

use super::signature;
use crate::support::clock;

pub use log::{CallbackEntry, CallbackLog};

const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One callback to deliver.
#[derive(Debug, Clone)]
pub struct Notice {
    pub url: String,
    pub payment_id: String,
    /// `APPROVE` or `DECLINE` (the simulator has no CANCEL/ERROR paths).
    pub function: &'static str,
    pub description: &'static str,
}

pub struct Callbacks {
    client: reqwest::Client,
    log: Arc<CallbackLog>,
}

impl Callbacks {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .expect("callback HTTP client builds");
        Callbacks {
            client,
            log: Arc::new(CallbackLog::default()),
        }
    }

    pub fn snapshot(&self) -> Vec<CallbackEntry> {
        self.log.snapshot()
    }

    /// Signs the notice now and delivers it in the background.
    pub fn send(&self, notice: Notice, merchant_id: String, api_key: String) {
        let timestamp = clock::now_compact();
        let code = signature::callback_code(
            &api_key,
            &notice.payment_id,
            &merchant_id,
            notice.function,
            notice.description,
            &timestamp,
        );
        let form = [
            ("paymentid", notice.payment_id.clone()),
            ("merchantid", merchant_id),
            ("function", notice.function.to_owned()),
            ("description", notice.description.to_owned()),
            ("timestamp", timestamp),
            ("sha256code", code),
        ];
        let client = self.client.clone();
        let log = Arc::clone(&self.log);
        tokio::spawn(async move {
            for attempt in 1..=(RETRY_DELAYS.len() as u32 + 1) {
                let outcome = client.post(&notice.url).form(&form).send().await;
                let (status, error) = match outcome {
                    Ok(resp) => (Some(resp.status().as_u16()), None),
                    Err(err) => (None, Some(err.to_string())),
                };
                let delivered = status.is_some_and(|s| (200..300).contains(&s));
                tracing::info!(
                    payment_id = %notice.payment_id,
                    function = notice.function,
                    attempt,
                    ?status,
                    error = error.as_deref().unwrap_or(""),
                    "certitrade: callback attempt"
                );
                log.record(CallbackEntry {
                    payment_id: notice.payment_id.clone(),
                    url: notice.url.clone(),
                    function: notice.function,
                    description: notice.description,
                    attempt,
                    status,
                    error,
                    at: clock::now_rfc3339(),
                });
                match RETRY_DELAYS.get(attempt as usize - 1) {
                    Some(delay) if !delivered => tokio::time::sleep(*delay).await,
                    _ => break,
                }
            }
        });
    }
}
