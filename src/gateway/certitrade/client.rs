//! The one place that talks HTTP to CertiTrade: signing, Date headers, resends and lookups.
//!
//! CertiTrade recognizes a resend by the same (Date, message_id); its server refuses a Date too
//! far from its clock. So the stored request of an attempt is its Date and body; a resend within
//! `resend_window` repeats both byte for byte; a later one first looks the payment up by its
//! unique reference (once CertiTrade cannot still be processing an earlier send: twice the
//! window after its Date) and only sends again (with a new Date, stored first) when the gateway
//! has none.

use crate::clock::Clock;
use crate::config::rotating::RotatingSecret;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

use super::sign::{authorization, http_date, parse_http_date};
use super::transformers::{self, Payment, PaymentAccount};
use crate::config::CertiTradeSettings;
use crate::domain::credential::Credential;
use crate::domain::outcome::{Outcome, OutcomeTable};
use crate::gateway::{GatewayAnswer, GatewayError, Resend, SaleSpec};

#[derive(Clone)]
pub struct CertiTradeClient {
    http: reqwest::Client,
    pub(super) api_url: String,
    merchant_id: u32,
    /// Read again from `certitrade.api_key_file` when it changes: requests are signed with the
    /// first key; callbacks are accepted under any key in force (a rotation under way).
    api_key: RotatingSecret,
    settings: Arc<CertiTradeSettings>,
    pub(super) table: Arc<OutcomeTable>,
    /// Dates every request (the signed `Date` header) and ages stored ones: billingd's clock,
    /// so a test that moves its manual clock moves what CertiTrade is told.
    clock: Arc<dyn Clock>,
}

/// Where a stored request stands, by the age of its Date.
pub(super) enum Age {
    /// Within `resend_window`: a resend repeats Date and body and CertiTrade recognizes it.
    Resendable,
    /// Too old to resend, too young to look up: CertiTrade may still be processing it.
    MayBeInFlight(String),
    /// Whatever CertiTrade did with it, it has done: look up, or send again re-stamped.
    Settled,
}

/// A started initializing payment: what the customer must open.
#[derive(Debug, Clone)]
pub struct Initialization {
    pub payment_id: String,
    pub link: String,
}

impl CertiTradeClient {
    pub fn new(
        settings: &CertiTradeSettings,
        table: OutcomeTable,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let api_key = settings.api_key.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "certitrade.api_key is not set: set BILLINGD_CERTITRADE__API_KEY or certitrade.api_key_file \
                 (or certitrade.enabled = false)"
            )
        })?;
        let http = crate::gateway::http_client(
            settings.request_timeout.get(),
            settings.connect_timeout.get(),
        )?;
        Ok(CertiTradeClient {
            http,
            api_url: settings.api_url.trim_end_matches('/').to_owned(),
            merchant_id: settings.merchant_id,
            api_key: RotatingSecret::new(
                "certitrade.api_key",
                &api_key,
                settings.api_key_file.as_deref(),
            ),
            settings: Arc::new(settings.clone()),
            table: Arc::new(table),
            clock,
        })
    }

    /// The `Date` header of a request sent now.
    fn date_now(&self) -> String {
        http_date(self.clock.now())
    }

    /// A stored request: `body` under a Date of now (its first send, or a send again after the
    /// resend window closed).
    pub(super) fn restamped(&self, body: &str) -> String {
        format!("{}\n{body}", self.date_now())
    }

    pub fn merchant_id(&self) -> u32 {
        self.merchant_id
    }

    /// The API key, for verifying callbacks.
    pub fn api_keys(&self) -> std::sync::Arc<[SecretString]> {
        self.api_key.current()
    }

    /// One signed request; `Err` is a transport failure (no answer).
    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
        date: &str,
    ) -> Result<(u16, Vec<u8>), String> {
        let url = format!("{}{path}", self.api_url);
        let bytes = body.unwrap_or("").as_bytes();
        let keys = self.api_key.current();
        let key = keys.first().ok_or("certitrade.api_key holds no key")?;
        let auth = authorization(
            self.merchant_id,
            key.expose_secret(),
            method.as_str(),
            &url,
            date,
            bytes,
        );
        let mut req = self
            .http
            .request(method, &url)
            .header(reqwest::header::DATE, date)
            .header(reqwest::header::AUTHORIZATION, auth);
        if let Some(b) = body {
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(b.to_owned());
        }
        let response = req
            .send()
            .await
            .map_err(|e| format!("CertiTrade request failed: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("CertiTrade answer cut off after HTTP {status}: {e}"))?;
        Ok((status, body.to_vec()))
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, String> {
        let (status, body) = self
            .call(reqwest::Method::GET, path, None, &self.date_now())
            .await?;
        if status != 200 {
            return Err(transformers::problem_message(status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("unreadable CertiTrade answer to GET {path}: {e}"))
    }

    pub async fn payment_account(&self, id: &str) -> Result<PaymentAccount, String> {
        self.get_json(&format!("/payment_account/{id}")).await
    }

    pub async fn payment(&self, id: &str) -> Result<Payment, String> {
        self.get_json(&format!("/payment/{id}")).await
    }

    /// The stored request of an attempt: its Date and exact body, fixed before the first send.
    pub fn sale_request(&self, spec: &SaleSpec<'_>) -> Result<String, GatewayError> {
        let c = spec.charge;
        let held = match &c.credential {
            Credential::CertiTrade(a) => a.payment_account.as_deref(),
            Credential::Payroc(_) => None,
        };
        let account = held.ok_or_else(|| {
            GatewayError::BadAccount(format!(
                "payment account {} has no CertiTrade payment_account",
                c.account_id
            ))
        })?;
        // message_id: an integer derived from the attempt's key, so it needs no storage of its own.
        let message_id = u32::from_be_bytes(
            c.idempotency_key.as_bytes()[..4]
                .try_into()
                .expect("4 bytes"),
        ) & 0x7fff_ffff;
        let body = transformers::recurring_body(
            c.amount_minor,
            &c.currency,
            &c.order_id,
            account,
            message_id,
        );
        Ok(self.restamped(&body))
    }

    /// A stored request within `resend_window` of its Date is sent as it is (CertiTrade
    /// recognizes the resend). An older one is looked up by its unique reference — but only
    /// once its Date is twice that old: it may have been sent (again) until the window closed,
    /// and CertiTrade may still be processing that request; a lookup before it is done would
    /// find nothing and charge again. Until then the outcome stays unknown. Found, that payment
    /// is the answer; not found, the same body goes out under a new Date — which the caller
    /// stores before sending, so that a resend of *that* request repeats its Date.
    pub async fn before_send(&self, stored: &str) -> Resend {
        let Some((date, body)) = stored.split_once('\n') else {
            return Resend::Answered(GatewayAnswer::unknown(
                "stored CertiTrade request is malformed",
            ));
        };
        match self.age(date) {
            Age::Resendable => return Resend::AsStored,
            Age::MayBeInFlight(why) => return Resend::Answered(GatewayAnswer::unknown(why)),
            Age::Settled => {}
        }
        let reference = transformers::reference_of(body).unwrap_or_default();
        match self.find_by_reference(&reference).await {
            Ok(Some(payment)) => Resend::Answered(
                self.settle(transformers::classify_payment(&payment, &self.table), body)
                    .await,
            ),
            Ok(None) => Resend::Restamped(self.restamped(body)),
            Err(e) => Resend::Answered(GatewayAnswer::unknown(e)),
        }
    }

    /// How far a stored request dated `date` is from its first send (see `before_send`).
    pub(super) fn age(&self, date: &str) -> Age {
        let window =
            jiff::SignedDuration::try_from(self.settings.resend_window.get()).unwrap_or_default();
        match parse_http_date(date).map(|sent| self.clock.now().duration_since(sent)) {
            Some(age) if age < window => Age::Resendable,
            Some(age) if age < window * 2 => Age::MayBeInFlight(format!(
                "the request dated {date} can no longer be resent and CertiTrade may still be \
                 processing it; it is looked up once {}s have passed",
                (window * 2).as_secs()
            )),
            _ => Age::Settled,
        }
    }

    pub(super) fn settings(&self) -> &CertiTradeSettings {
        &self.settings
    }

    /// Sends a stored request with its stored Date (see `before_send`).
    pub async fn send_sale(&self, stored: &str) -> GatewayAnswer {
        let Some((date, body)) = stored.split_once('\n') else {
            return GatewayAnswer::unknown("stored CertiTrade request is malformed");
        };
        match self
            .call(reqwest::Method::POST, "/payment", Some(body), date)
            .await
        {
            Ok((status, answer)) => {
                let classified = transformers::classify(status, &answer, &self.table);
                self.settle(classified, body).await
            }
            Err(e) => GatewayAnswer::unknown(e),
        }
    }

    pub async fn lookup(&self, payment_id: &str) -> GatewayAnswer {
        match self.payment(payment_id).await {
            Ok(p) => transformers::classify_payment(&p, &self.table).with_status(200),
            Err(e) => GatewayAnswer::unknown(e),
        }
    }

    pub(super) async fn find_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<Payment>, String> {
        #[derive(serde::Deserialize)]
        struct Found {
            #[serde(rename = "_embedded")]
            embedded: Option<Embedded>,
        }
        #[derive(serde::Deserialize)]
        struct Embedded {
            // `payment` in the API docs, `payments` in CertiTrade's PHP library.
            #[serde(default, alias = "payments")]
            payment: Vec<Payment>,
        }
        let found: Found = self
            .get_json(&format!("/payment?reference={reference}"))
            .await?;
        Ok(found.embedded.and_then(|e| e.payment.into_iter().next()))
    }

    /// A decline on an account CertiTrade has since suspended or closed means the account is
    /// terminated, whatever the attempt's code says.
    async fn settle(&self, answer: GatewayAnswer, body: &str) -> GatewayAnswer {
        if !matches!(
            answer.outcome,
            Outcome::DeclinedSoft | Outcome::DeclinedHard
        ) {
            return answer;
        }
        let account = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.pointer("/data/RECURRING/payment_account")
                    .and_then(|a| a.as_str())
                    .map(str::to_owned)
            });
        let Some(account) = account else {
            return answer;
        };
        match self.payment_account(&account).await {
            Ok(a) if matches!(a.state.as_deref(), Some("SUSPENDED") | Some("CLOSED")) => {
                let state = a.state.unwrap_or_default();
                GatewayAnswer {
                    outcome: Outcome::AccountTerminated,
                    ..answer
                }
                .with_error(format!("payment_account {account} is {state}"))
            }
            _ => answer,
        }
    }
}
