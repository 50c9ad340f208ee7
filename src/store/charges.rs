//! Reading charges and the requests sent for them.

use crate::domain::charge::ChargeTerms;
use crate::domain::states::ChargeStatus;
use crate::gateway::AnswerFields;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError};

/// A charge as the book holds it: its terms, where it stands, and its current attempt.
// The API and the CLI show it as is (nothing in it is masked), so the doc comments here are the
// API's (OpenAPI descriptions).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Charge {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub terms: ChargeTerms,
    /// `due` | `approved` | `failed` | `held` | `skipped` | `cancelled` | `imported` (billed by
    /// the system the subscription was taken over from)
    #[schema(value_type = String)]
    pub status: ChargeStatus,
    /// Attempts so far (a retry after a decline is a new attempt with a new key).
    pub attempt_no: i32,
    /// Idempotency-Key of the current attempt.
    pub idempotency_key: Uuid,
    pub order_id: String,
    /// `first` | `subsequent`, fixed when the request is first written down.
    pub sequence: Option<String>,
    pub last_outcome: Option<String>,
    pub failure_reason: Option<String>,
    pub gateway_payment_id: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// One request sent to the gateway and what came back (shown as is by the admin API).
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct ChargeAttempt {
    pub attempt_no: i32,
    pub send_no: i32,
    pub idempotency_key: Uuid,
    pub order_id: String,
    pub sequence: String,
    pub sent_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub http_status: Option<i32>,
    pub outcome: Option<String>,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub answer: AnswerFields,
}

/// The gateway's fields read through (`attempt.error`), as on the `GatewayAnswer` they were.
impl std::ops::Deref for ChargeAttempt {
    type Target = AnswerFields;

    fn deref(&self) -> &AnswerFields {
        &self.answer
    }
}

impl std::ops::Deref for Charge {
    type Target = ChargeTerms;

    fn deref(&self) -> &ChargeTerms {
        &self.terms
    }
}

/// A `Charge`'s columns, as every query that reads one lists them.
pub(super) const CHARGE_COLUMNS: &str = "id, subscription_id, account_id, cycle, due_at, amount_minor, currency, \
     processing_model, is_last, status, attempt_no, idempotency_key, order_id, sequence, \
     last_outcome, failure_reason, gateway_payment_id, next_attempt_at, settled_at";

impl Store {
    /// Charges, newest cycle last, optionally of one subscription.
    pub async fn charges(
        &self,
        subscription_id: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Charge>, StoreError> {
        let sql = format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE ($1::uuid IS NULL OR subscription_id = $1) \
             ORDER BY due_at, subscription_id, cycle LIMIT $2"
        );
        Ok(sqlx::query_as::<_, Charge>(sqlx::AssertSqlSafe(sql))
            .bind(subscription_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn charge(&self, id: Uuid) -> Result<Charge, StoreError> {
        let sql = format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1");
        sqlx::query_as::<_, Charge>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "charge",
                id: id.to_string(),
            })
    }

    /// Every request sent for a charge, in the order sent.
    pub async fn charge_attempts(&self, charge_id: Uuid) -> Result<Vec<ChargeAttempt>, StoreError> {
        Ok(sqlx::query_as::<_, ChargeAttempt>(
            "SELECT attempt_no, send_no, idempotency_key, order_id, sequence, sent_at, finished_at, \
             http_status, outcome, gateway_payment_id, gateway_status, response_code, \
             processor_response_code, response_message, approval_code, authorized_amount, \
             scheme_reference, error FROM charge_attempts WHERE charge_id = $1 ORDER BY id",
        )
        .bind(charge_id)
        .fetch_all(self.pool())
        .await?)
    }
}
