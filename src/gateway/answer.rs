//! A gateway's answer to one request, normalized: our outcome class plus the raw result fields
//! kept for the attempt log.

use serde::Serialize;

use crate::domain::outcome::Outcome;

#[derive(Debug, Clone, Serialize)]
pub struct GatewayAnswer {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub payment_id: Option<String>,
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

impl GatewayAnswer {
    pub fn new(outcome: Outcome) -> Self {
        GatewayAnswer {
            outcome,
            http_status: None,
            payment_id: None,
            status: None,
            response_code: None,
            processor_response_code: None,
            response_message: None,
            approval_code: None,
            authorized_amount: None,
            scheme_reference: None,
            error: None,
        }
    }

    /// No usable answer: the request may or may not have been processed.
    pub fn unknown(error: impl Into<String>) -> Self {
        GatewayAnswer {
            error: Some(error.into()),
            ..GatewayAnswer::new(Outcome::Unknown)
        }
    }

    /// The gateway refused the request itself, in its own words: nothing was charged.
    pub fn rejected(error: impl Into<String>) -> Self {
        GatewayAnswer {
            error: Some(error.into()),
            ..GatewayAnswer::new(Outcome::RequestError)
        }
    }

    pub fn with_status(mut self, http_status: u16) -> Self {
        self.http_status = Some(http_status);
        self
    }
}
