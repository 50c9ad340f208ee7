//! A gateway's answer to one request, normalized: our outcome class plus the raw result fields
//! kept for the attempt log.

use serde::Serialize;

use crate::domain::outcome::Outcome;

#[derive(Debug, Clone)]
pub struct GatewayAnswer {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    /// What the gateway said, as it said it: read through (`answer.payment_id`) by `Deref`.
    pub fields: AnswerFields,
}

/// The raw result fields of one gateway answer, as the gateway gave them.
// The attempt log stores them (`charge_attempts`) and reads them back into
// `store::charges::ChargeAttempt`, which the API shows: one struct serves both, so what is kept
// is what was answered. The log names the payment id and status `gateway_*` (in SQL and JSON)
// beside billingd's own order and outcome.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AnswerFields {
    #[serde(rename = "gateway_payment_id")]
    #[sqlx(rename = "gateway_payment_id")]
    pub payment_id: Option<String>,
    #[serde(rename = "gateway_status")]
    #[sqlx(rename = "gateway_status")]
    pub status: Option<String>,
    pub response_code: Option<String>,
    pub processor_response_code: Option<String>,
    pub response_message: Option<String>,
    pub approval_code: Option<String>,
    pub authorized_amount: Option<i64>,
    pub scheme_reference: Option<String>,
    /// What went wrong, in words an operator can act on (transport errors, problem details).
    pub error: Option<String>,
}

impl std::ops::Deref for GatewayAnswer {
    type Target = AnswerFields;

    fn deref(&self) -> &AnswerFields {
        &self.fields
    }
}

impl GatewayAnswer {
    pub fn new(outcome: Outcome) -> Self {
        GatewayAnswer {
            outcome,
            http_status: None,
            fields: AnswerFields::default(),
        }
    }

    /// No usable answer: the request may or may not have been processed.
    pub fn unknown(error: impl Into<String>) -> Self {
        GatewayAnswer::new(Outcome::Unknown).with_error(error)
    }

    /// The gateway refused the request itself, in its own words: nothing was charged.
    pub fn rejected(error: impl Into<String>) -> Self {
        GatewayAnswer::new(Outcome::RequestError).with_error(error)
    }

    pub fn with_status(mut self, http_status: u16) -> Self {
        self.http_status = Some(http_status);
        self
    }

    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.fields.error = Some(error.into());
        self
    }
}
