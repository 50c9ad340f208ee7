//! The `payment` resource and its `payment_attempts[]`, printed the way
//! CertiTrade's examples print them: amounts and ids as strings, flags as
//! `"0"`/`"1"`, attempt details under `data.RECURRING`.

use serde_json::{Value, json};

use super::super::cards::Card;
use super::super::hal::{Origin, link};
use super::request::PaymentRequest;
use crate::support::{clock, random};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// Initializing payment, payment window not opened yet.
    Created,
    /// Payment window opened, not finished (only ever seen mid-request here).
    Pending,
    /// Authorised; CertiTrade would capture it the coming night.
    ReadyForCapture,
    Failed,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "CREATED",
            PaymentState::Pending => "PENDING",
            PaymentState::ReadyForCapture => "READY_FOR_CAPTURE",
            PaymentState::Failed => "FAILED",
        }
    }
}

/// One authorisation attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub created: String,
    pub approved: bool,
    /// `SSL_AUTH` (payment window), `RECURRING_AUTH`, `ACCOUNT_TERMINATED`.
    pub desc: &'static str,
    /// ISO 8583-style response code; `"00"` is the only success.
    pub respcode: &'static str,
    pub authcode: String,
    pub masked_cardno: String,
    pub bin: String,
}

impl Attempt {
    pub fn new(
        approved: bool,
        desc: &'static str,
        respcode: &'static str,
        card: Option<&Card>,
    ) -> Self {
        Attempt {
            created: clock::now_spaced(),
            approved,
            desc,
            respcode,
            authcode: if approved {
                random::upper_alnum(6)
            } else {
                String::new()
            },
            masked_cardno: card.map(|c| c.masked_cardno.clone()).unwrap_or_default(),
            bin: card.map(|c| c.bin.clone()).unwrap_or_default(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "created": self.created,
            "result": if self.approved { "1" } else { "0" },
            "method": "RECURRING",
            "data": {"RECURRING": {
                "desc": self.desc,
                "authcode": self.authcode,
                "respcode": self.respcode,
                "masked_cardno": self.masked_cardno,
                "bin": self.bin,
                "cardholder_name": "",
            }},
        })
    }
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub created: String,
    pub state: PaymentState,
    pub amount: u64,
    pub authorized_amount: u64,
    pub currency: String,
    pub language: String,
    pub reference: String,
    pub description: String,
    pub return_url: Option<String>,
    pub callback_url: Option<String>,
    pub initialize: bool,
    pub payment_account: String,
    pub attempts: Vec<Attempt>,
    /// Kept for the ledger only; CertiTrade does not echo it.
    pub message_id: Option<String>,
}

impl Payment {
    pub fn new(id: String, request: &PaymentRequest, state: PaymentState, created: String) -> Self {
        Payment {
            id,
            created,
            state,
            amount: request.amount,
            authorized_amount: 0,
            currency: request.currency.clone(),
            language: request.language.clone(),
            reference: request.reference.clone(),
            description: request.description.clone(),
            return_url: request.return_url.clone(),
            callback_url: request.callback_url.clone(),
            initialize: request.initialize,
            payment_account: request.payment_account.clone(),
            attempts: Vec::new(),
            message_id: request.message_id.clone(),
        }
    }

    /// Records an attempt and moves to its final state.
    pub fn settle(&mut self, attempt: Attempt) {
        if attempt.approved {
            self.state = PaymentState::ReadyForCapture;
            self.authorized_amount = self.amount;
        } else {
            self.state = PaymentState::Failed;
        }
        self.attempts.push(attempt);
    }

    pub fn to_json(&self, merchant: &str, origin: &Origin) -> Value {
        let mut links = json!({
            "self": link(origin.api(&format!("/payment/{}", self.id))),
            "merchant": link(origin.api(&format!("/merchant/{merchant}"))),
            "payment_account": link(origin.api(&format!("/payment_account/{}", self.payment_account))),
        });
        // Only initializing payments go through the payment window.
        if self.initialize {
            links["paywin"] = link(origin.paywin(&self.id));
        }
        json!({
            "id": self.id,
            "created": self.created,
            "state": self.state.as_str(),
            "reference": self.reference,
            "description": self.description,
            "amount": self.amount.to_string(),
            "authorized_amount": self.authorized_amount.to_string(),
            "currency": self.currency,
            "language": self.language,
            "merchant": merchant,
            "method": "RECURRING",
            "payment_account": self.payment_account,
            "products": [],
            "payment_attempts": self.attempts.iter().map(Attempt::to_json).collect::<Vec<_>>(),
            "data": {"RECURRING": {
                "initialize": if self.initialize { "1" } else { "0" },
                "payment_account": self.payment_account,
            }},
            "return_url": self.return_url,
            "callback_url": self.callback_url,
            "_links": links,
            "_embedded": [],
        })
    }
}
