//! A charge as claimed for sending: its current intent, the account's gateway and credential,
//! and the subscription's series. The store loads it (`store::claims`); the gateway adapters
//! build requests from it and the webhook events describe it, so it lives below both.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::credential::Credential;
use super::outcome::Outcome;
use super::states::GatewayKind;

/// What a charge bills, fixed when its cycle is materialized: whose cycle, when, how much and
/// under which processing model.
// A charge as the book shows it (`store::charges::Charge`) and as claimed for sending
// (`ClaimedCharge`) both start with it and read through to it. The API shows the book's charge
// as is, so the doc comments here are the API's (OpenAPI descriptions).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ChargeTerms {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub account_id: Uuid,
    pub cycle: i32,
    pub due_at: DateTime<Utc>,
    /// Minor units of `currency`.
    // `amount` in JSON, as the API names every amount it shows.
    #[serde(rename = "amount")]
    pub amount_minor: i64,
    pub currency: String,
    /// `recurring` | `installment`
    pub processing_model: String,
    /// The last installment of its plan.
    pub is_last: bool,
}

/// A claimed charge with what is needed to send it: its current intent, the account's
/// credential and the subscription's series.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedCharge {
    #[sqlx(flatten)]
    pub terms: ChargeTerms,
    pub attempt_no: i32,
    pub idempotency_key: Uuid,
    pub order_id: String,
    pub sequence: Option<String>,
    pub request_body: Option<String>,
    pub last_outcome: Option<Outcome>,
    pub gateway_payment_id: Option<String>,
    /// Requests already sent under the current key (0 for a fresh attempt).
    pub sends_so_far: i64,
    /// When the first request under the current key went out (None before it has).
    pub first_sent_at: Option<DateTime<Utc>>,
    /// This claim's fencing token (see `STILL_OURS`).
    pub lease_token: i64,
    /// When this claim's lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub gateway: GatewayKind,
    /// The account's credential, which the gateway's adapter puts in the request.
    #[sqlx(flatten)]
    pub credential: Credential,
    /// The subscription's series (see `subscriptions.series_*`): a series is one agreement.
    pub series_payment_id: Option<String>,
    pub series_scheme_reference: Option<String>,
    pub series_processing_model: Option<String>,
}

impl std::ops::Deref for ClaimedCharge {
    type Target = ChargeTerms;

    fn deref(&self) -> &ChargeTerms {
        &self.terms
    }
}

impl ClaimedCharge {
    /// The number of the next request under the current key.
    pub fn next_send_no(&self) -> i32 {
        self.sends_so_far as i32 + 1
    }
}
