//! Payroc wire format, without I/O: the sale body with its standing instructions, the
//! secure-token request, and the classification of answers (docs/gateways.md, Payroc;
//! docs/answers.md).

use serde::{Deserialize, Serialize};

use crate::domain::answer_class::{self, AnswerClass};
use crate::domain::outcome::{Outcome, OutcomeTable};
use crate::gateway::{AnswerFields, GatewayAnswer};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleRequest<'a> {
    pub channel: &'a str,
    pub processing_terminal_id: &'a str,
    pub order: Order<'a>,
    pub payment_method: PaymentMethod<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order<'a> {
    pub order_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub standing_instructions: StandingInstructions<'a>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PaymentMethod<'a> {
    SecureToken { token: &'a str },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandingInstructions<'a> {
    pub sequence: &'a str,
    pub processing_model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_data_of_first_txn: Option<FirstTxnReference<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstTxnReference<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_scheme_reference_id: Option<&'a str>,
}

/// The parts of a Payroc `payment` we read; unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    payment_id: Option<String>,
    // The API and SDKs say `transactionResult`; the seed document says `paymentResult`.
    #[serde(alias = "paymentResult")]
    transaction_result: Option<TransactionResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionResult {
    status: Option<String>,
    response_code: Option<String>,
    response_message: Option<String>,
    processor_response_code: Option<String>,
    approval_code: Option<String>,
    authorized_amount: Option<i64>,
    card_scheme_reference_id: Option<String>,
}

/// RFC 7807 problem details, as Payroc sends them on 4xx/5xx.
#[derive(Debug, Deserialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemItem>,
}

#[derive(Debug, Deserialize)]
struct ProblemItem {
    parameter: Option<String>,
    detail: Option<String>,
    message: Option<String>,
}

/// Classifies the answer to a sale (201) or a payment lookup (200); which statuses settle
/// anything is `domain::answer_class::payroc_sale`.
pub fn classify(http_status: u16, body: &[u8], table: &OutcomeTable) -> GatewayAnswer {
    match answer_class::payroc_sale(http_status) {
        AnswerClass::ReadPayment => classify_payment(body, table).with_status(http_status),
        AnswerClass::Rejected => {
            GatewayAnswer::rejected(problem_message(http_status, body)).with_status(http_status)
        }
        // 401 is handled by the client (refresh, resend); reaching here means the refreshed
        // token was refused too. Nothing settles: retried later under the same key.
        AnswerClass::RefreshCredentials | AnswerClass::Unknown => {
            GatewayAnswer::unknown(problem_message(http_status, body)).with_status(http_status)
        }
    }
}

fn classify_payment(body: &[u8], table: &OutcomeTable) -> GatewayAnswer {
    let payment: Payment = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return GatewayAnswer::unknown(format!(
                "unreadable payment in the gateway's answer ({e}): {}",
                snippet(body)
            ));
        }
    };
    answer_of(payment, table)
}

fn answer_of(payment: Payment, table: &OutcomeTable) -> GatewayAnswer {
    let Some(result) = payment.transaction_result else {
        return GatewayAnswer::unknown("the gateway's answer has no transactionResult");
    };
    let outcome = outcome_of(&result, table);
    GatewayAnswer {
        outcome,
        http_status: None,
        fields: AnswerFields {
            payment_id: payment.payment_id,
            status: result.status,
            response_code: result.response_code,
            processor_response_code: result.processor_response_code,
            response_message: result.response_message,
            approval_code: result.approval_code,
            authorized_amount: result.authorized_amount,
            scheme_reference: result.card_scheme_reference_id,
            error: None,
        },
    }
}

fn outcome_of(r: &TransactionResult, table: &OutcomeTable) -> Outcome {
    let status = r.status.as_deref().unwrap_or("");
    match r.response_code.as_deref().unwrap_or("") {
        // P = partial authorization: money moved; the authorized amount is recorded.
        "A" | "P" => Outcome::Approved,
        "E" => Outcome::Pending,
        // C = keep the card (lost or stolen): the credential is dead.
        "C" => Outcome::AccountTerminated,
        _ if status == "pickup" => Outcome::AccountTerminated,
        _ if status == "pending" => Outcome::Pending,
        "D" | "R" => table.classify_decline(r.processor_response_code.as_deref()),
        _ => Outcome::Unknown,
    }
}

/// The order and terminal of a stored sale body: what a lookup of the sale filters on.
pub fn order_of(stored: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stored {
        processing_terminal_id: String,
        order: StoredOrder,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct StoredOrder {
        order_id: String,
    }
    let s: Stored = serde_json::from_str(stored).ok()?;
    Some((s.order.order_id, s.processing_terminal_id))
}

/// Reads a `GET /payments?orderId=…` page: the payment made for the order, if any. Should there
/// be more than one, the one that moved money wins — an approval must never be hidden.
pub fn classify_listed(body: &[u8], table: &OutcomeTable) -> Result<Option<GatewayAnswer>, String> {
    #[derive(Deserialize)]
    struct Page {
        data: Vec<Payment>,
    }
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| format!("unreadable payment list ({e}): {}", snippet(body)))?;
    let mut answers: Vec<GatewayAnswer> = page
        .data
        .into_iter()
        .map(|p| answer_of(p, table).with_status(200))
        .collect();
    answers.sort_by_key(|a| match a.outcome {
        Outcome::Approved => 0,
        Outcome::Pending => 1,
        _ => 2,
    });
    Ok(answers.into_iter().next())
}

/// A readable one-line account of an error answer, from its problem details when it has them.
pub fn problem_message(http_status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<Problem>(body) {
        Ok(p) if p.title.is_some() || p.detail.is_some() => {
            let mut msg = format!("Payroc answered {http_status}");
            if let Some(kind) = p.kind.as_deref().and_then(|t| t.rsplit('#').next()) {
                msg.push_str(&format!(" ({kind})"));
            }
            for part in [p.title, p.detail].into_iter().flatten() {
                msg.push_str(": ");
                msg.push_str(&part);
            }
            let fields: Vec<String> = p
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.parameter.as_deref().unwrap_or("?"),
                        e.message
                            .as_deref()
                            .or(e.detail.as_deref())
                            .unwrap_or("invalid")
                    )
                })
                .collect();
            if !fields.is_empty() {
                msg.push_str(&format!(" [{}]", fields.join("; ")));
            }
            msg
        }
        _ => format!(
            "Payroc answered {http_status} without problem details: {}",
            snippet(body)
        ),
    }
}

/// The start of a body, on one line, for messages about answers that could not be read.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 160 {
        format!("{}…", flat.chars().take(160).collect::<String>())
    } else if flat.is_empty() {
        "(empty body)".into()
    } else {
        flat
    }
}
