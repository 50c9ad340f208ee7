//! The one place that talks HTTP to Payroc: headers, bearer token, timeouts.

use secrecy::ExposeSecret;
use std::sync::Arc;
use uuid::Uuid;

use super::auth::{Bearer, TokenSource};
use super::transformers::{
    self, FirstTxnReference, Order, PaymentMethod, SaleRequest, StandingInstructions,
};
use crate::config::PayrocSettings;
use crate::config::rotating::RotatingSecret;
use crate::domain::credential::Credential;
use crate::domain::outcome::OutcomeTable;
use crate::gateway::{GatewayAnswer, GatewayError, SaleSpec};

#[derive(Clone)]
pub struct PayrocClient {
    pub(super) http: reqwest::Client,
    pub(super) api_url: String,
    /// `{api_url}/payments`, parsed once: a sale per charge would otherwise parse it again.
    payments_url: reqwest::Url,
    channel: String,
    pub(super) tokens: TokenSource,
    pub(super) table: Arc<OutcomeTable>,
    /// How long Payroc can be trusted to recognize a key (it does not publish this).
    pub(super) key_lifetime: std::time::Duration,
}

impl PayrocClient {
    pub fn new(settings: &PayrocSettings, table: OutcomeTable) -> anyhow::Result<Self> {
        let api_key = settings.api_key.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "payroc.api_key is not set: set BILLINGD_PAYROC__API_KEY or payroc.api_key_file \
                 (or payroc.enabled = false)"
            )
        })?;
        let http = crate::gateway::http_client(
            settings.request_timeout.get(),
            settings.connect_timeout.get(),
        )?;
        let tokens = TokenSource::new(
            http.clone(),
            &settings.identity_url,
            RotatingSecret::new("payroc.api_key", &api_key, settings.api_key_file.as_deref()),
            settings.token_refresh_margin.get(),
        );
        let api_url = settings.api_url.trim_end_matches('/').to_owned();
        let payments_url = reqwest::Url::parse(&format!("{api_url}/payments"))
            .map_err(|e| anyhow::anyhow!("payroc.api_url {api_url:?}: {e}"))?;
        Ok(PayrocClient {
            http,
            api_url,
            payments_url,
            channel: settings.channel.clone(),
            tokens,
            table: Arc::new(table),
            key_lifetime: settings.idempotency_key_lifetime.get(),
        })
    }

    /// How long Payroc is trusted to recognize a key (`payroc.idempotency_key_lifetime`).
    pub fn key_lifetime(&self) -> std::time::Duration {
        self.key_lifetime
    }

    /// Fetches a bearer token, so a wrong API key or unreachable identity service shows up in
    /// the logs at start rather than at the first due charge.
    pub async fn check_credentials(&self) -> Result<(), String> {
        self.tokens.bearer().await.map(|_| ())
    }

    pub fn sale_body(&self, spec: &SaleSpec<'_>) -> Result<String, GatewayError> {
        let c = spec.charge;
        let missing = |what: &str| {
            GatewayError::BadAccount(format!(
                "payment account {} has no Payroc {what}",
                c.account_id
            ))
        };
        let Credential::Payroc(held) = &c.credential else {
            return Err(missing("secure token"));
        };
        let terminal = held
            .terminal_id
            .as_deref()
            .ok_or_else(|| missing("terminal"))?;
        let token = held
            .token
            .as_deref()
            .ok_or_else(|| missing("secure token"))?;
        let reference = match spec.sequence {
            crate::domain::position::Sequence::First => None,
            crate::domain::position::Sequence::Subsequent => Some(FirstTxnReference {
                payment_id: spec.first.map(|f| f.payment_id.as_str()),
                card_scheme_reference_id: spec.first.and_then(|f| f.scheme_reference.as_deref()),
            }),
        };
        let request = SaleRequest {
            channel: &self.channel,
            processing_terminal_id: terminal,
            order: Order {
                order_id: &c.order_id,
                amount: c.amount_minor,
                currency: &c.currency,
                standing_instructions: StandingInstructions {
                    sequence: spec.sequence.as_str(),
                    processing_model: spec.model.as_str(),
                    reference_data_of_first_txn: reference,
                },
            },
            payment_method: PaymentMethod::SecureToken { token },
        };
        serde_json::to_string(&request).map_err(|e| GatewayError::BadAccount(e.to_string()))
    }

    /// POST /payments. A 401 means the bearer token died: refresh it and resend the same
    /// body under the same key once.
    pub async fn send_sale(&self, key: Uuid, body: &str) -> GatewayAnswer {
        self.authorized(|bearer| {
            self.http
                .post(self.payments_url.clone())
                .bearer_auth(bearer)
                .header("Idempotency-Key", key.to_string())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned())
        })
        .await
    }

    /// GET /payments/{paymentId}: settles a payment that was pending.
    pub async fn lookup(&self, payment_id: &str) -> GatewayAnswer {
        let url = format!("{}/payments/{payment_id}", self.api_url);
        self.authorized(|bearer| self.http.get(&url).bearer_auth(bearer))
            .await
    }

    /// The request `build` makes under a bearer token, sent and classified; a 401 (the token
    /// died) refreshes the token and sends it once more.
    async fn authorized(&self, build: impl Fn(&str) -> reqwest::RequestBuilder) -> GatewayAnswer {
        for _ in 0..2 {
            let bearer = match self.tokens.bearer().await {
                Ok(b) => b,
                Err(e) => return GatewayAnswer::unknown(e),
            };
            let request = build(bearer.value.expose_secret());
            if let Some(answer) = self.execute(request, &bearer).await {
                return answer;
            }
        }
        GatewayAnswer::unknown("Payroc refused a freshly issued bearer token (401)")
            .with_status(401)
    }

    /// Sends and classifies; `None` means "401: token refreshed, try again".
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        bearer: &Bearer,
    ) -> Option<GatewayAnswer> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Some(GatewayAnswer::unknown(transport_error(&e))),
        };
        let status = response.status().as_u16();
        if status == 401 {
            self.tokens.invalidate(bearer).await;
            return None;
        }
        match response.bytes().await {
            Ok(body) => Some(transformers::classify(status, &body, &self.table)),
            Err(e) => Some(
                GatewayAnswer::unknown(format!(
                    "answer cut off after HTTP {status}: {}",
                    transport_error(&e)
                ))
                .with_status(status),
            ),
        }
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the answer"
    } else {
        "request failed"
    };
    // The error's source chain says why (reset, refused, …) without any header values.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    format!("Payroc {kind}: {detail}")
}
