//! CertiTrade wire format without I/O (docs/gateways.md, CertiTrade; docs/answers.md): request
//! bodies (typed, in `requests`), and answers parsed leniently — amounts, flags and ids may be
//! strings or numbers, unknown fields are ignored, and a payment attempt's data may or may not be
//! nested under its method.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::answer_class::{self, AnswerClass};
use crate::domain::outcome::{Outcome, OutcomeTable};
use crate::gateway::{AnswerFields, GatewayAnswer};

pub use super::requests::{Initializing, initializing_body, payment_account_body, recurring_body};

/// The `reference` of a stored payment body.
pub fn reference_of(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("reference")?
        .as_str()
        .map(str::to_owned)
}

/// A string, or a number written as a string.
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(if b { "1" } else { "0" }.into()),
        _ => None,
    })
}

#[derive(Debug, Deserialize)]
pub struct Payment {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub reference: Option<String>,
    #[serde(default)]
    pub payment_attempts: Vec<Value>,
    #[serde(default, rename = "_links")]
    pub links: Option<Value>,
}

impl Payment {
    pub fn paywin(&self) -> Option<String> {
        self.links
            .as_ref()?
            .get("paywin")?
            .get("href")?
            .as_str()
            .map(str::to_owned)
    }
}

#[derive(Debug, Deserialize)]
pub struct PaymentAccount {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub masked_cardno: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub expiry_date: Option<String>,
}

/// The fields of the last payment attempt, wherever the attempt keeps them.
#[derive(Debug, Default, PartialEq)]
pub struct Attempt {
    pub result: Option<String>,
    pub desc: Option<String>,
    pub respcode: Option<String>,
    pub authcode: Option<String>,
}

pub fn last_attempt(payment: &Payment) -> Attempt {
    let Some(a) = payment.payment_attempts.last() else {
        return Attempt::default();
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // `data.RECURRING.{desc,…}` in most examples, `data.{desc,…}` in one.
    let data = a.get("data");
    let fields = data
        .and_then(|d| d.as_object())
        .and_then(|d| {
            d.values()
                .find(|v| v.is_object() && v.get("respcode").or(v.get("desc")).is_some())
        })
        .or(data);
    Attempt {
        result: text(a.get("result")),
        desc: fields.and_then(|f| text(f.get("desc"))),
        respcode: fields.and_then(|f| text(f.get("respcode"))),
        authcode: fields.and_then(|f| text(f.get("authcode"))),
    }
}

/// What a payment's state and last attempt mean for billing.
pub fn classify_payment(payment: &Payment, table: &OutcomeTable) -> GatewayAnswer {
    let attempt = last_attempt(payment);
    let outcome = match payment.state.as_deref().unwrap_or("") {
        "READY_FOR_CAPTURE" | "WAITING_FOR_APPROVAL" | "CAPTURED" => Outcome::Approved,
        "CREATED" | "PENDING" => Outcome::Pending,
        "FAILED" | "CANCELLED" => {
            if attempt.desc.as_deref() == Some("ACCOUNT_TERMINATED") {
                Outcome::AccountTerminated
            } else {
                table.classify_decline(attempt.respcode.as_deref())
            }
        }
        _ => Outcome::Unknown,
    };
    GatewayAnswer {
        outcome,
        http_status: None,
        fields: AnswerFields {
            payment_id: payment.id.clone(),
            status: payment.state.clone(),
            response_code: attempt.result.clone(),
            processor_response_code: attempt.respcode.clone(),
            response_message: attempt.desc.clone(),
            approval_code: attempt.authcode.clone(),
            authorized_amount: None,
            scheme_reference: None,
            error: (outcome == Outcome::Unknown)
                .then(|| format!("unexpected payment state {:?}", payment.state)),
        },
    }
}

/// Classifies an answer to `POST /payment` or `GET /payment/{id}`; which statuses settle
/// anything is `domain::answer_class::certitrade_payment`.
pub fn classify(http_status: u16, body: &[u8], table: &OutcomeTable) -> GatewayAnswer {
    match answer_class::certitrade_payment(http_status) {
        AnswerClass::ReadPayment => match serde_json::from_slice::<Payment>(body) {
            Ok(p) => classify_payment(&p, table).with_status(http_status),
            Err(e) => GatewayAnswer::unknown(format!("unreadable CertiTrade payment ({e})"))
                .with_status(http_status),
        },
        AnswerClass::Rejected => {
            GatewayAnswer::rejected(problem_message(http_status, body)).with_status(http_status)
        }
        // 401/403: signature, clock or credentials — logged as an error and retried later
        // under the same reference; 409, 5xx and anything undocumented: the payment may exist.
        AnswerClass::RefreshCredentials | AnswerClass::Unknown => {
            GatewayAnswer::unknown(problem_message(http_status, body)).with_status(http_status)
        }
    }
}

/// A readable line from an `application/api-problem+json` body.
pub fn problem_message(http_status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("title").is_some() => {
            let title = v["title"].as_str().unwrap_or("");
            match v.get("detail").and_then(Value::as_str) {
                Some(detail) => format!("CertiTrade answered {http_status}: {title}: {detail}"),
                None => format!("CertiTrade answered {http_status}: {title}"),
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            format!(
                "CertiTrade answered {http_status} without problem details: {}",
                flat.chars().take(160).collect::<String>()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payment(v: Value) -> Payment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_authorized_recurring_charge_is_approved() {
        let p = payment(
            json!({"id": 3011, "state": "READY_FOR_CAPTURE", "amount": "1000", "future": true,
            "payment_attempts": [{"created": "x", "result": "1", "method": "RECURRING",
                "data": {"RECURRING": {"desc": "RECURRING_AUTH", "authcode": "123456", "respcode": "00"}}}]}),
        );
        let a = classify_payment(&p, &OutcomeTable::default());
        assert_eq!(a.outcome, Outcome::Approved);
        assert_eq!(a.payment_id.as_deref(), Some("3011"));
        assert_eq!(a.approval_code.as_deref(), Some("123456"));
    }

    #[test]
    fn account_terminated_is_recognized_in_both_attempt_shapes() {
        for data in [
            json!({"RECURRING": {"desc": "ACCOUNT_TERMINATED", "respcode": "43"}}),
            json!({"desc": "ACCOUNT_TERMINATED", "respcode": 43}),
        ] {
            let p = payment(
                json!({"id": "9", "state": "FAILED", "payment_attempts": [{"result": 0, "data": data}]}),
            );
            let a = classify_payment(&p, &OutcomeTable::default());
            assert_eq!(a.outcome, Outcome::AccountTerminated);
            assert_eq!(a.processor_response_code.as_deref(), Some("43"));
        }
    }

    #[test]
    fn a_failed_charge_is_classified_by_its_respcode() {
        let p = payment(
            json!({"state": "FAILED", "payment_attempts": [{"result": "0",
            "data": {"RECURRING": {"desc": "RECURRING_AUTH", "respcode": "05"}}}]}),
        );
        assert_eq!(
            classify_payment(&p, &OutcomeTable::default()).outcome,
            Outcome::DeclinedSoft
        );
        let p = payment(
            json!({"state": "FAILED", "payment_attempts": [{"result": "0",
            "data": {"RECURRING": {"desc": "RECURRING_AUTH", "respcode": "54"}}}]}),
        );
        assert_eq!(
            classify_payment(&p, &OutcomeTable::default()).outcome,
            Outcome::DeclinedHard
        );
    }

    #[test]
    fn a_created_initializing_payment_is_pending_with_its_paywin_link() {
        let p = payment(json!({"id": "77", "state": "CREATED",
            "_links": {"self": {"href": "x"}, "paywin": {"href": "https://pay.example/77"}}}));
        assert_eq!(p.paywin().as_deref(), Some("https://pay.example/77"));
        assert_eq!(
            classify_payment(&p, &OutcomeTable::default()).outcome,
            Outcome::Pending
        );
    }

    #[test]
    fn errors_and_garbage() {
        let t = OutcomeTable::default();
        let problem = br#"{"describedBy":"x","title":"Not authorized","httpStatus":403}"#;
        let a = classify(403, problem, &t);
        assert_eq!(a.outcome, Outcome::Unknown);
        assert!(a.fields.error.unwrap().contains("Not authorized"));
        assert_eq!(
            classify(400, br#"{"title":"Bad request","detail":"amount"}"#, &t).outcome,
            Outcome::RequestError
        );
        assert_eq!(classify(201, b"<html>", &t).outcome, Outcome::Unknown);
        assert_eq!(classify(502, b"", &t).outcome, Outcome::Unknown);
    }

    #[test]
    fn bodies_carry_amounts_as_strings_and_the_recurring_data() {
        let body: Value =
            serde_json::from_str(&recurring_body(1250, "SEK", "ref-1", "55", 42)).unwrap();
        assert_eq!(body["amount"], "1250");
        assert_eq!(body["data"]["RECURRING"]["payment_account"], "55");
        assert_eq!(body["message_id"], 42);
        assert!(body["data"]["RECURRING"].get("initialize").is_none());
        let init: Value = serde_json::from_str(
            &crate::gateway::certitrade::requests::sample_initializing_body(7),
        )
        .unwrap();
        assert_eq!(init["data"]["RECURRING"]["initialize"], "1");
        assert_eq!(init["callback_url"], "https://m/cb");
        assert_eq!(init["message_id"], 7);
        assert_eq!(reference_of(&init.to_string()).as_deref(), Some("r"));
    }
}
