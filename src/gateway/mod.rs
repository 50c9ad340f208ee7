//! Gateways. Each adapter is pure translation (`transformers`: request bodies and answer
//! classification, no I/O) plus one HTTP client that owns auth and headers. `Gateways` routes a
//! charge to the adapter of its account's gateway.

pub mod answer;
pub mod card;
pub mod certitrade;
#[cfg(test)]
mod no_nulls;
pub mod payroc;
pub mod rules;
pub mod step;

pub use answer::{AnswerFields, GatewayAnswer};
pub use rules::{GatewayRules, Reinitialization};
pub use step::{StepResend, StepResult};

use uuid::Uuid;

use crate::domain::charge::ClaimedCharge;
use crate::domain::position::{ProcessingModel, Sequence};
use crate::domain::reconcile::LedgerSale;
use crate::domain::series::FirstPayment;
use crate::domain::states::GatewayKind;

/// The rules of `kind`'s adapter.
pub fn rules(kind: GatewayKind) -> &'static dyn GatewayRules {
    match kind {
        GatewayKind::Payroc => &payroc::Rules,
        GatewayKind::CertiTrade => &certitrade::Rules,
    }
}

/// A fresh Idempotency-Key (UUID v4, as Payroc requires) and the gateway's orderId of attempt
/// `attempt_no` of a charge. A new attempt (a retry after a decline) is a new sale: new key,
/// new orderId; resends of the same attempt reuse both.
pub fn fresh_intent(kind: GatewayKind, charge_id: Uuid, attempt_no: i32) -> (Uuid, String) {
    (Uuid::new_v4(), rules(kind).order_id(charge_id, attempt_no))
}

/// What the customer must do to bring a suspended account back, in its gateway's words.
pub fn reinitialization_needed(kind: GatewayKind) -> &'static str {
    rules(kind).reinitialization_needed()
}

/// The HTTP client of one gateway adapter: its timeouts, and a user agent naming billingd.
pub fn http_client(
    timeout: std::time::Duration,
    connect_timeout: std::time::Duration,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(concat!("billingd/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Everything an adapter needs to build a sale for one attempt of a charge.
pub struct SaleSpec<'a> {
    pub charge: &'a ClaimedCharge,
    pub sequence: Sequence,
    pub model: ProcessingModel,
    /// The first payment of the charge's series, which a `subsequent` payment refers to.
    pub first: Option<&'a FirstPayment>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway {0} is not configured in this daemon")]
    NotConfigured(GatewayKind),
    #[error("{0}")]
    BadAccount(String),
}

/// What `Gateways::before_send` decided about a stored request.
#[derive(Debug)]
pub enum Resend {
    AsStored,
    /// Too old to be recognized as a resend, and the gateway has no payment for it: send this
    /// re-stamped request (CertiTrade: the same body under a new Date), after storing it.
    Restamped(String),
    /// The gateway's answer is already known (or it could not be asked: unknown).
    Answered(GatewayAnswer),
}

/// Where a stored request stands when it is about to be sent (again).
#[derive(Debug, Clone, Copy)]
pub struct ResendContext {
    /// 1 for the first send under the current key.
    pub send_no: i32,
    /// When the first request under the current key went out, if one did.
    pub first_sent_at: Option<jiff::Timestamp>,
    pub now: jiff::Timestamp,
}

impl ResendContext {
    /// How long the outcome has been unknown (zero before the first send).
    pub fn unknown_for(&self) -> std::time::Duration {
        self.first_sent_at
            .map(|sent| self.now.duration_since(sent))
            .and_then(|d| std::time::Duration::try_from(d).ok())
            .unwrap_or_default()
    }
}

/// A sale from a gateway's ledger: in billingd's words for matching, and as the answer it
/// stands for, should it be recorded on its charge.
#[derive(Debug, Clone)]
pub struct ListedSale {
    pub sale: LedgerSale,
    pub answer: GatewayAnswer,
}

/// The configured gateway clients.
#[derive(Clone, Default)]
pub struct Gateways {
    pub payroc: Option<payroc::PayrocClient>,
    pub certitrade: Option<certitrade::CertiTradeClient>,
}

impl Gateways {
    fn payroc(&self) -> Result<&payroc::PayrocClient, GatewayError> {
        self.payroc
            .as_ref()
            .ok_or(GatewayError::NotConfigured(GatewayKind::Payroc))
    }

    fn certitrade(&self) -> Result<&certitrade::CertiTradeClient, GatewayError> {
        self.certitrade
            .as_ref()
            .ok_or(GatewayError::NotConfigured(GatewayKind::CertiTrade))
    }

    /// What to send for this attempt, stored before the first send so every resend is the same
    /// (Payroc: the body; CertiTrade: its Date header and body).
    pub fn sale_body(&self, spec: &SaleSpec<'_>) -> Result<String, GatewayError> {
        match spec.charge.gateway {
            GatewayKind::Payroc => self.payroc()?.sale_body(spec),
            GatewayKind::CertiTrade => self.certitrade()?.sale_request(spec),
        }
    }

    /// What to do before sending a stored request: send it as it is, send it re-stamped (the
    /// caller stores the new version first, so later resends repeat it), or nothing, because
    /// the gateway already answered (a lookup found the payment).
    pub async fn before_send(
        &self,
        gateway: GatewayKind,
        stored: &str,
        ctx: &ResendContext,
    ) -> Resend {
        let answered = |e: GatewayError| Resend::Answered(GatewayAnswer::unknown(e.to_string()));
        match gateway {
            GatewayKind::CertiTrade => match self.certitrade() {
                Ok(client) => client.before_send(stored).await,
                Err(e) => answered(e),
            },
            GatewayKind::Payroc => match self.payroc() {
                Ok(client) => client.before_send(stored, ctx).await,
                Err(e) => answered(e),
            },
        }
    }

    pub async fn send_sale(&self, gateway: GatewayKind, key: Uuid, body: &str) -> GatewayAnswer {
        match gateway {
            GatewayKind::Payroc => match self.payroc() {
                Ok(client) => client.send_sale(key, body).await,
                Err(e) => GatewayAnswer::unknown(e.to_string()),
            },
            GatewayKind::CertiTrade => match self.certitrade() {
                Ok(client) => client.send_sale(body).await,
                Err(e) => GatewayAnswer::unknown(e.to_string()),
            },
        }
    }

    /// Asks the gateway what became of a payment it reported as pending.
    pub async fn lookup(&self, gateway: GatewayKind, payment_id: &str) -> GatewayAnswer {
        match gateway {
            GatewayKind::Payroc => match self.payroc() {
                Ok(client) => client.lookup(payment_id).await,
                Err(e) => GatewayAnswer::unknown(e.to_string()),
            },
            GatewayKind::CertiTrade => match self.certitrade() {
                Ok(client) => client.lookup(payment_id).await,
                Err(e) => GatewayAnswer::unknown(e.to_string()),
            },
        }
    }

    /// Every sale the gateway's ledger holds for the window, listed per scope of its accounts
    /// where it is split (Payroc: `scopes` are the terminals; CertiTrade lists its whole).
    pub async fn list_sales(
        &self,
        gateway: GatewayKind,
        scopes: &[String],
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<ListedSale>, String> {
        match gateway {
            GatewayKind::Payroc => {
                let client = self.payroc().map_err(|e| e.to_string())?;
                let mut sales = Vec::new();
                for terminal in scopes {
                    sales.extend(client.list_sales(terminal, from, to).await?);
                }
                Ok(sales)
            }
            GatewayKind::CertiTrade => {
                let client = self.certitrade().map_err(|e| e.to_string())?;
                client.list_sales(from, to).await
            }
        }
    }

    /// The gateways this daemon is configured for.
    pub fn configured(&self) -> Vec<GatewayKind> {
        let mut gateways = Vec::new();
        if self.payroc.is_some() {
            gateways.push(GatewayKind::Payroc);
        }
        if self.certitrade.is_some() {
            gateways.push(GatewayKind::CertiTrade);
        }
        gateways
    }
}
