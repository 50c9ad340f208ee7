//! The `payment` resource returned by create, retrieve and list.

use serde::Serialize;
use serde_json::Value;

use super::super::secure_tokens::SecureToken;
use super::outcome::Outcome;
use super::request::SaleRequest;
use crate::config::ResultField;
use crate::support::random;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    pub processing_terminal_id: String,
    pub order: Order,
    pub card: Card,
    /// Renamed to `paymentResult` on output when configured (see `to_json`).
    pub transaction_result: TransactionResult,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub amount: u64,
    pub currency: String,
    pub standing_instructions: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    #[serde(rename = "type")]
    pub card_type: &'static str,
    pub entry_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    pub card_number: String,
    pub expiry_date: String,
    pub secure_token: CardSecureToken,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardSecureToken {
    pub secure_token_id: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResult {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    pub authorized_amount: u64,
    pub currency: String,
    pub response_code: &'static str,
    pub response_message: &'static str,
    pub processor_response_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_scheme_reference_id: Option<String>,
}

impl TransactionResult {
    pub fn new(outcome: Outcome, amount: u64, currency: &str) -> Self {
        let codes = outcome.codes();
        let approved = outcome == Outcome::Approved;
        TransactionResult {
            kind: "sale",
            status: codes.status,
            approval_code: approved.then(|| random::upper_alnum(6)),
            authorized_amount: if approved { amount } else { 0 },
            currency: currency.to_owned(),
            response_code: codes.response_code,
            response_message: codes.response_message,
            processor_response_code: codes.processor_response_code,
            card_scheme_reference_id: approved.then(|| random::upper_alnum(15)),
        }
    }
}

impl Payment {
    pub fn new(
        payment_id: String,
        sale: &SaleRequest,
        token: &SecureToken,
        outcome: Outcome,
        date_time: String,
    ) -> Self {
        Payment {
            payment_id,
            processing_terminal_id: sale.processing_terminal_id.clone(),
            order: Order {
                order_id: sale.order_id.clone(),
                date_time,
                description: sale.description.clone(),
                amount: sale.amount,
                currency: sale.currency.clone(),
                standing_instructions: sale.standing_instructions.clone(),
            },
            card: Card {
                card_type: token.card_type,
                entry_method: "keyed",
                cardholder_name: token.cardholder_name.clone(),
                card_number: token.masked_number.clone(),
                expiry_date: token.expiry_date.clone(),
                secure_token: CardSecureToken {
                    secure_token_id: token.secure_token_id.clone(),
                    token: token.token.clone(),
                },
            },
            transaction_result: TransactionResult::new(outcome, sale.amount, &sale.currency),
        }
    }

    pub fn to_json(&self, field: ResultField) -> Value {
        let mut value = serde_json::to_value(self).expect("payment serializes");
        if field != ResultField::TransactionResult
            && let Some(map) = value.as_object_mut()
            && let Some(result) = map.remove("transactionResult")
        {
            map.insert(field.json_key().to_owned(), result);
        }
        value
    }
}
