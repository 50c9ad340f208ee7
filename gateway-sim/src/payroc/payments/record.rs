//! The `payment` resource returned by create, retrieve and list.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::super::secure_tokens::SecureToken;
use super::outcome::Outcome;
use super::request::SaleRequest;
use crate::config::ResultField;
use crate::support::random;

// Field order: every struct below lists its fields in the byte order of their JSON names, and
// `PaymentJson` writes the payment's own keys in that order too. Serialising straight to bytes
// then prints exactly what going through a `serde_json::Value` (a sorted map) used to print,
// without building the tree. `to_json` still goes through `Value`; a test pins the two equal.

#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_id: String,
    pub processing_terminal_id: String,
    pub order: Order,
    pub card: Card,
    /// Renamed to `paymentResult` on output when configured (see `PaymentJson`).
    pub transaction_result: TransactionResult,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub amount: u64,
    pub currency: String,
    pub date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub order_id: String,
    pub standing_instructions: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub card_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    pub entry_method: &'static str,
    pub expiry_date: String,
    pub secure_token: CardSecureToken,
    #[serde(rename = "type")]
    pub card_type: &'static str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    pub authorized_amount: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_scheme_reference_id: Option<String>,
    pub currency: String,
    pub processor_response_code: &'static str,
    pub response_code: &'static str,
    pub response_message: &'static str,
    pub status: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A payment as the API prints it, with its outcome object under the configured key.
struct PaymentJson<'p>(&'p Payment, ResultField);

impl Serialize for PaymentJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let PaymentJson(p, field) = *self;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("card", &p.card)?;
        map.serialize_entry("order", &p.order)?;
        map.serialize_entry("paymentId", &p.payment_id)?;
        // "paymentResult" sorts between "paymentId" and "processingTerminalId".
        if field == ResultField::PaymentResult {
            map.serialize_entry(field.json_key(), &p.transaction_result)?;
        }
        map.serialize_entry("processingTerminalId", &p.processing_terminal_id)?;
        if field == ResultField::TransactionResult {
            map.serialize_entry(field.json_key(), &p.transaction_result)?;
        }
        map.end()
    }
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
        serde_json::to_value(PaymentJson(self, field)).expect("payment serializes")
    }

    /// `to_json`, printed: the body of a create answer, without building a `Value` first.
    pub fn to_json_bytes(&self, field: ResultField) -> Vec<u8> {
        serde_json::to_vec(&PaymentJson(self, field)).expect("payment serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payment(outcome: Outcome, optional: bool) -> Payment {
        Payment {
            payment_id: "ABCDEFGHIJ".into(),
            processing_terminal_id: "3204001".into(),
            order: Order {
                amount: 1000,
                currency: "USD".into(),
                date_time: "2027-01-01T00:00:00.000Z".into(),
                description: optional.then(|| "Monthly plan".into()),
                order_id: "ord-1".into(),
                standing_instructions: json!({"sequence": "subsequent",
                    "processingModel": "recurring",
                    "referenceDataOfFirstTxn": {"paymentId": "X", "cardSchemeReferenceId": "Y"}}),
            },
            card: Card {
                card_number: "453985******7062".into(),
                cardholder_name: optional.then(|| "Sally Test".into()),
                entry_method: "keyed",
                expiry_date: "1230".into(),
                secure_token: CardSecureToken {
                    secure_token_id: "MREF_1".into(),
                    token: "296753123456".into(),
                },
                card_type: "Visa",
            },
            transaction_result: TransactionResult::new(outcome, 1000, "USD"),
        }
    }

    /// The create answer is printed straight from the structs; it must be byte for byte what
    /// printing the (sorted) `Value` gives, as it was before.
    #[test]
    fn printed_bytes_are_the_sorted_value() {
        for outcome in [Outcome::Approved, Outcome::Pending, Outcome::Referral] {
            for optional in [true, false] {
                for field in [ResultField::TransactionResult, ResultField::PaymentResult] {
                    let p = payment(outcome, optional);
                    let via_value = serde_json::to_vec(&p.to_json(field)).unwrap();
                    assert_eq!(
                        String::from_utf8(p.to_json_bytes(field)).unwrap(),
                        String::from_utf8(via_value).unwrap()
                    );
                }
            }
        }
    }
}
