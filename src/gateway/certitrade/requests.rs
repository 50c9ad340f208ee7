//! CertiTrade request bodies (docs/gateways.md, "CertiTrade: format and errors" and "the
//! recurring flow"), typed: an optional field that is absent is left out rather than sent as
//! `null`, which a typed API refuses (400). Amounts go as strings, as in every CertiTrade
//! example.

use serde::Serialize;

/// `POST /payment_account`
#[derive(Debug, Serialize)]
pub struct PaymentAccountRequest<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Makes a resend under the same Date recognizable (a lost answer is replayed, not a
    /// second account made).
    pub message_id: u32,
}

/// `POST /payment`: an initializing payment (customer present, through the payment window) or
/// a merchant-initiated RECURRING charge; which optional fields are set says which.
#[derive(Debug, Serialize)]
pub struct PaymentRequest<'a> {
    pub amount: String,
    pub currency: &'a str,
    pub method: &'a str,
    pub reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<&'a str>,
    pub data: PaymentData<'a>,
}

#[derive(Debug, Serialize)]
pub struct PaymentData<'a> {
    #[serde(rename = "RECURRING")]
    pub recurring: RecurringData<'a>,
}

#[derive(Debug, Serialize)]
pub struct RecurringData<'a> {
    /// `"1"` on the payment that initializes the account; left out on later charges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initialize: Option<&'a str>,
    pub payment_account: &'a str,
}

fn to_json<T: Serialize>(request: &T) -> String {
    serde_json::to_string(request).expect("a CertiTrade request serializes")
}

/// `POST /payment_account`
pub fn payment_account_body(message_id: u32) -> String {
    to_json(&PaymentAccountRequest {
        kind: "RECURRING",
        message_id,
    })
}

/// The initializing (customer-present) payment whose paywin link the customer opens.
pub struct Initializing<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub reference: &'a str,
    pub payment_account: &'a str,
    pub return_url: &'a str,
    pub callback_url: &'a str,
    pub language: &'a str,
    pub message_id: u32,
}

pub fn initializing_body(p: &Initializing<'_>) -> String {
    to_json(&PaymentRequest {
        amount: p.amount.to_string(),
        currency: p.currency,
        method: "RECURRING",
        reference: p.reference,
        message_id: Some(p.message_id),
        description: Some("Card registration for recurring payments"),
        language: Some(p.language),
        return_url: Some(p.return_url),
        callback_url: Some(p.callback_url),
        data: PaymentData {
            recurring: RecurringData {
                initialize: Some("1"),
                payment_account: p.payment_account,
            },
        },
    })
}

/// A merchant-initiated RECURRING charge on an initialized account.
pub fn recurring_body(
    amount: i64,
    currency: &str,
    reference: &str,
    payment_account: &str,
    message_id: u32,
) -> String {
    to_json(&PaymentRequest {
        amount: amount.to_string(),
        currency,
        method: "RECURRING",
        reference,
        message_id: Some(message_id),
        description: None,
        language: None,
        return_url: None,
        callback_url: None,
        data: PaymentData {
            recurring: RecurringData {
                initialize: None,
                payment_account,
            },
        },
    })
}

/// An initializing payment's body as the tests know it (SEK 1.00 on payment_account "55").
#[cfg(test)]
pub(super) fn sample_initializing_body(message_id: u32) -> String {
    initializing_body(&Initializing {
        amount: 100,
        currency: "SEK",
        reference: "r",
        payment_account: "55",
        return_url: "https://m/return",
        callback_url: "https://m/cb",
        language: "en",
        message_id,
    })
}
