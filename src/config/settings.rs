//! The shape of billingd's configuration. Every struct rejects unknown keys so that a typo is an
//! error naming the key, never a silently ignored setting. Defaults live here (the built-in
//! layer) and are repeated, commented, in `config/default.toml`.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::book::{DunningSettings, NoticeSettings};
pub use super::console::ConsoleSettings;
use super::delay::Delay;
use crate::domain::outcome::OutcomeTable;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub api: ApiSettings,
    pub scheduler: SchedulerSettings,
    pub billing: BillingSettings,
    pub payroc: PayrocSettings,
    pub certitrade: CertiTradeSettings,
    pub webhooks: WebhookSettings,
    pub reconcile: ReconcileSettings,
    pub notices: NoticeSettings,
    pub dunning: DunningSettings,
    pub console: ConsoleSettings,
    pub outcomes: OutcomeTable,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Postgres URL; a password in it is masked whenever the URL is shown.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Delay,
    /// Apply pending migrations when `serve` starts (else run `billingd migrate`).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "postgres://postgres@127.0.0.1:5432/billingd".into(),
            max_connections: 16,
            acquire_timeout: Delay::secs(5),
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    pub enabled: bool,
    /// Address of the admin API, health and metrics; loopback unless you mean otherwise.
    pub listen: String,
    /// From BILLINGD_API__ADMIN_TOKEN; never written to a config file.
    #[serde(skip_serializing)]
    pub admin_token: Option<SecretString>,
    pub admin_token_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Serve `POST /certitrade/callback` — the one route CertiTrade must reach from the
    /// internet — on this address of its own instead of on `listen`.
    pub callback_listen: Option<String>,
    /// Serve `GET /metrics` on this (internal) address of its own instead of on `listen`.
    pub metrics_listen: Option<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            admin_token: None,
            admin_token_file: None,
            max_body_bytes: 64 * 1024,
            callback_listen: None,
            metrics_listen: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSettings {
    /// Cron expression (with seconds) of the billing tick, evaluated in UTC.
    pub billing_cron: String,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            billing_cron: "*/10 * * * * *".into(),
        }
    }
}

/// The periodic reconciliation with each gateway's ledger (`billingd reconcile` runs one by
/// hand).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileSettings {
    pub enabled: bool,
    /// How often, across all replicas together (one of them takes each turn).
    pub every: Delay,
    /// How far back each run lists the gateway's sales.
    pub window: Delay,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            enabled: true,
            every: Delay::secs(3600),
            window: Delay::secs(48 * 3600),
        }
    }
}

/// The catch-up policy is a billing rule: it lives with the rule (`domain::materialize`).
pub use crate::domain::materialize::CatchUp;

/// What a card update does with a failed cycle, a rule too (`domain::recovery`).
pub use crate::domain::recovery::OnCardUpdate;

/// What to do, on re-initialization, with the cycles the terminated account refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefusedCycles {
    /// Charge each once more, the first as the new series' `first` payment.
    Charge,
    /// Record them as skipped.
    Skip,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingSettings {
    pub catch_up: CatchUp,
    /// Under `catch_up = "all"`: charge at most this many missed cycles per subscription (the
    /// newest), recording the older ones as skipped. Unset: every one.
    pub catch_up_max_cycles: Option<u32>,
    /// Gateway requests in flight at once, per daemon.
    pub max_in_flight: usize,
    /// Charges claimed per claim query.
    pub claim_batch: u32,
    /// Subscriptions materialized per transaction.
    pub materialize_batch: u32,
    /// How long a claimed charge belongs to this daemon; must outlast a send with its resends.
    pub lease: Delay,
    /// Delay before the 1st, 2nd, … retry after a soft decline; its length is the retry budget.
    pub soft_decline_retries: Vec<Delay>,
    /// Resends of the same request, within one claim, when the outcome is unknown.
    pub unknown_resends: u32,
    pub unknown_backoff_min: Delay,
    pub unknown_backoff_max: Delay,
    /// When a charge is still unknown after its resends, the next run resends it after this.
    pub unknown_retry_after: Delay,
    /// How soon a charge the gateway reported as pending is looked up again.
    pub pending_recheck_after: Delay,
    /// On SIGTERM, how long in-flight requests may take before the daemon exits anyway.
    pub shutdown_grace: Delay,
    /// When a suspended account is re-initialized, what happens to the cycles it refused.
    pub refused_cycles: RefusedCycles,
    /// When an active account takes a new card, what happens to its subscriptions' failed
    /// cycles: `charge` them once more on the new card, or `leave` them failed.
    pub failed_cycle_on_card_update: OnCardUpdate,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            catch_up: CatchUp::All,
            catch_up_max_cycles: None,
            max_in_flight: 32,
            claim_batch: 256,
            materialize_batch: 500,
            lease: Delay::secs(300),
            soft_decline_retries: vec![
                Delay::secs(86_400),
                Delay::secs(3 * 86_400),
                Delay::secs(5 * 86_400),
            ],
            unknown_resends: 3,
            unknown_backoff_min: Delay::millis(500),
            unknown_backoff_max: Delay::secs(10),
            unknown_retry_after: Delay::secs(60),
            pending_recheck_after: Delay::secs(60),
            shutdown_grace: Delay::secs(25),
            refused_cycles: RefusedCycles::Charge,
            failed_cycle_on_card_update: OnCardUpdate::Charge,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayrocSettings {
    pub enabled: bool,
    pub api_url: String,
    pub identity_url: String,
    /// From BILLINGD_PAYROC__API_KEY; never written to a config file.
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// Channel sent on merchant-initiated sales (Payroc leaves it to the merchant; keep the
    /// channel of the customer's first payment).
    pub channel: String,
    pub request_timeout: Delay,
    pub connect_timeout: Delay,
    /// Refresh the bearer token this long before it expires (the official SDKs use 2 minutes).
    pub token_refresh_margin: Delay,
    /// How long Payroc is trusted to recognize an Idempotency-Key (unpublished). Before every
    /// resend the sale is looked up by its orderId; when that lookup fails, a resend goes out
    /// only while the first request is younger than this.
    pub idempotency_key_lifetime: Delay,
}

impl Default for PayrocSettings {
    fn default() -> Self {
        PayrocSettings {
            enabled: true,
            api_url: "https://api.uat.payroc.com/v1".into(),
            identity_url: "https://identity.uat.payroc.com".into(),
            api_key: None,
            api_key_file: None,
            channel: "web".into(),
            request_timeout: Delay::secs(30),
            connect_timeout: Delay::secs(5),
            token_refresh_margin: Delay::secs(120),
            idempotency_key_lifetime: Delay::secs(3600),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertiTradeSettings {
    pub enabled: bool,
    /// Test: https://apitest.certitrade.net/ctpsp/ws/2.0; production: https://api.certitrade.net/ctpsp/ws/2.0
    pub api_url: String,
    pub merchant_id: u32,
    /// From BILLINGD_CERTITRADE__API_KEY; never written to a config file.
    #[serde(skip_serializing)]
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// Where CertiTrade sends the customer after the payment window (your site).
    pub return_url: String,
    /// billingd's callback endpoint as CertiTrade reaches it: `<public base>/certitrade/callback`.
    pub callback_url: String,
    /// Amount (minor units) of the initializing payment that registers the card.
    pub initializing_amount: i64,
    pub initializing_currency: String,
    pub language: String,
    /// A resend reuses the first send's Date and message_id (so CertiTrade recognizes it) only
    /// within this window, inside the gateway's clock-skew tolerance; later, the payment is
    /// looked up by its unique reference instead.
    pub resend_window: Delay,
    /// An initializing payment with no callback is polled after this long.
    pub poll_initializing_after: Delay,
    pub request_timeout: Delay,
    pub connect_timeout: Delay,
}

impl Default for CertiTradeSettings {
    fn default() -> Self {
        CertiTradeSettings {
            enabled: false,
            api_url: "https://apitest.certitrade.net/ctpsp/ws/2.0".into(),
            merchant_id: 0,
            api_key: None,
            api_key_file: None,
            return_url: "https://merchant.example/billing/card-registered".into(),
            callback_url: "https://merchant.example/billingd/certitrade/callback".into(),
            initializing_amount: 100,
            initializing_currency: "SEK".into(),
            language: "en".into(),
            resend_window: Delay::secs(120),
            poll_initializing_after: Delay::secs(60),
            request_timeout: Delay::secs(30),
            connect_timeout: Delay::secs(5),
        }
    }
}

/// Merchant webhooks: events are written with the change they announce and delivered to every
/// endpoint, at least once, signed with the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    pub enabled: bool,
    /// http(s) URLs; each event is delivered to each of them.
    pub endpoints: Vec<String>,
    /// HMAC-SHA256 key, from BILLINGD_WEBHOOKS__SECRET; never written to a config file.
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
    pub secret_file: Option<PathBuf>,
    /// POSTs per event and endpoint before the delivery is given up as failed.
    pub max_attempts: u32,
    /// Delay before the first redelivery; it doubles (with jitter) up to `backoff_max`.
    pub backoff_min: Delay,
    pub backoff_max: Delay,
    pub request_timeout: Delay,
    /// Deliveries in flight at once, per daemon.
    pub concurrency: usize,
    /// How long the worker sleeps when nothing is due.
    pub poll_interval: Delay,
}

impl WebhookSettings {
    /// Where events go: nowhere while webhooks are disabled (events are still recorded).
    pub fn active_endpoints(&self) -> Vec<String> {
        if self.enabled {
            self.endpoints.clone()
        } else {
            Vec::new()
        }
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            enabled: false,
            endpoints: Vec::new(),
            secret: None,
            secret_file: None,
            max_attempts: 15,
            backoff_min: Delay::secs(5),
            backoff_max: Delay::secs(3600),
            request_timeout: Delay::secs(10),
            concurrency: 4,
            poll_interval: Delay::secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter directive ("info", "billingd=debug,sqlx=warn"); RUST_LOG overrides it.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}
