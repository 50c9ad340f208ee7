//! Validation of `POST /payment` bodies into a `PaymentRequest`.
//!
//! Every problem in the body is reported at once, in one 400 whose `detail`
//! names each field. `initialize` and `payment_account` are read from
//! `data.RECURRING` (the documented form) or from the top level (what
//! CertiTrade's PHP library sends); if both are given they must agree.

use serde_json::Value;

use super::super::lenient::{self, get};
use super::super::problem::Problem;

/// ISO 4217 codes CertiTrade lists as supported.
const CURRENCIES: &[&str] = &[
    "SEK", "EUR", "USD", "DKK", "GBP", "NOK", "AUD", "CAD", "NZD", "CHF", "TRY", "JPY",
];
const TEXT_MAX: usize = 64;
const URL_MAX: usize = 256;
/// CertiTrade's default payment-window language.
const DEFAULT_LANGUAGE: &str = "sv";

#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub amount: u64,
    pub currency: String,
    pub reference: String,
    pub description: String,
    pub language: String,
    pub return_url: Option<String>,
    pub callback_url: Option<String>,
    pub initialize: bool,
    pub payment_account: String,
    pub message_id: Option<String>,
}

#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn add(&mut self, detail: impl Into<String>) {
        self.0.push(detail.into());
    }
}

pub fn parse(root: &Value, message_id: Option<String>) -> Result<PaymentRequest, Problem> {
    let mut e = Errors::default();
    let amount = match get(root, "amount") {
        None => {
            e.add("amount is required");
            None
        }
        Some(v) => lenient::integer(v).filter(|&n| n > 0).or_else(|| {
            e.add("amount must be a positive integer in minor units (string or number)");
            None
        }),
    };
    let currency = text(&mut e, root, "currency", true, 3);
    if currency
        .as_deref()
        .is_some_and(|c| !CURRENCIES.contains(&c))
    {
        e.add(format!("currency must be one of {}", CURRENCIES.join(", ")));
    }
    match get(root, "method").map(Value::as_str) {
        Some(Some("RECURRING")) => {}
        None => e.add("method is required (\"RECURRING\")"),
        Some(_) => e.add("method must be \"RECURRING\"; other methods are not simulated"),
    }
    // Optional in CertiTrade's table, required here: it is the only handle
    // a client has to find a payment whose answer it never received.
    let reference = text(&mut e, root, "reference", true, TEXT_MAX);
    let description = text(&mut e, root, "description", false, TEXT_MAX);
    let language = text(&mut e, root, "language", false, 2);
    let return_url = url(&mut e, root, "return_url");
    let callback_url = url(&mut e, root, "callback_url");
    let (initialize, payment_account) = recurring_data(&mut e, root);
    if initialize {
        for (name, value) in [("return_url", &return_url), ("callback_url", &callback_url)] {
            if value.is_none() {
                e.add(format!("{name} is required for an initializing payment"));
            }
        }
    }
    if !e.0.is_empty() {
        return Err(Problem::bad_request(e.0.join("; ")));
    }
    Ok(PaymentRequest {
        amount: amount.expect("validated"),
        currency: currency.expect("validated"),
        reference: reference.expect("validated"),
        description: description.unwrap_or_default(),
        language: language.unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned()),
        return_url,
        callback_url,
        initialize,
        payment_account: payment_account.expect("validated"),
        message_id,
    })
}

/// A string (numbers are accepted and printed) of at most `max` characters.
fn text(e: &mut Errors, root: &Value, name: &str, required: bool, max: usize) -> Option<String> {
    let value = match get(root, name) {
        None if required => {
            e.add(format!("{name} is required"));
            return None;
        }
        None => return None,
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            e.add(format!("{name} must be a string"));
            return None;
        }
    };
    if required && value.is_empty() {
        e.add(format!("{name} must not be empty"));
        None
    } else if value.chars().count() > max {
        e.add(format!("{name} must be at most {max} characters"));
        None
    } else {
        Some(value)
    }
}

fn url(e: &mut Errors, root: &Value, name: &str) -> Option<String> {
    let value = text(e, root, name, false, URL_MAX)?;
    if value.starts_with("http://") || value.starts_with("https://") {
        Some(value)
    } else {
        e.add(format!("{name} must be an absolute http(s) URL"));
        None
    }
}

/// `(initialize, payment_account)` from `data.RECURRING` and/or the top level.
fn recurring_data(e: &mut Errors, root: &Value) -> (bool, Option<String>) {
    let nested = match get(root, "data") {
        None => None,
        Some(data) if data.is_object() => match get(data, "RECURRING") {
            None => None,
            Some(r) if r.is_object() => Some(r),
            Some(_) => {
                e.add("data.RECURRING must be an object");
                None
            }
        },
        Some(_) => {
            e.add("data must be an object");
            None
        }
    };
    let initialize = pick(e, nested, root, "initialize", lenient::flag, "0 or 1");
    let account = pick(e, nested, root, "payment_account", lenient::id, "an id");
    if account.is_none() && !e.0.iter().any(|m| m.contains("payment_account")) {
        e.add("data.RECURRING.payment_account is required");
    }
    (initialize.unwrap_or(false), account)
}

/// One field from `data.RECURRING` or the top level, which must not disagree.
fn pick<T: PartialEq>(
    e: &mut Errors,
    nested: Option<&Value>,
    root: &Value,
    name: &str,
    read: fn(&Value) -> Option<T>,
    expected: &str,
) -> Option<T> {
    let mut read_at = |value: Option<&Value>, path: String| match value {
        None => None,
        Some(v) => read(v).or_else(|| {
            e.add(format!("{path} must be {expected}"));
            None
        }),
    };
    let inner = read_at(
        nested.and_then(|r| get(r, name)),
        format!("data.RECURRING.{name}"),
    );
    let outer = read_at(get(root, name), name.to_owned());
    match (inner, outer) {
        (Some(a), Some(b)) if a != b => {
            e.add(format!(
                "data.RECURRING.{name} and the top-level {name} disagree"
            ));
            None
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"amount": "1000", "currency": "SEK", "method": "RECURRING", "reference": "r1",
               "data": {"RECURRING": {"payment_account": "40260868824"}}})
    }

    #[test]
    fn documented_and_php_shapes() {
        let r = parse(&base(), None).unwrap();
        assert_eq!(
            (r.amount, r.initialize, r.language.as_str()),
            (1000, false, "sv")
        );
        let php = json!({"amount": 1000, "currency": "SEK", "method": "RECURRING", "reference": 7,
                         "initialize": 1, "payment_account": 40260868824u64,
                         "return_url": "https://shop/r", "callback_url": "https://shop/c"});
        let r = parse(&php, Some("5".into())).unwrap();
        assert!(r.initialize);
        assert_eq!(
            (r.payment_account.as_str(), r.reference.as_str()),
            ("40260868824", "7")
        );
    }

    #[test]
    fn names_every_bad_field() {
        let mut body = base();
        body["amount"] = json!("12.50");
        body["currency"] = json!("XYZ");
        body["reference"] = json!("x".repeat(65));
        body["data"]["RECURRING"]["initialize"] = json!("1");
        let detail = parse(&body, None).unwrap_err().detail;
        for field in [
            "amount",
            "currency",
            "reference",
            "return_url",
            "callback_url",
        ] {
            assert!(detail.contains(field), "{field} missing from {detail}");
        }
        let mut clash = base();
        clash["payment_account"] = json!("1");
        assert!(parse(&clash, None).unwrap_err().detail.contains("disagree"));
        let missing =
            json!({"amount": 1, "currency": "SEK", "method": "RECURRING", "reference": "r"});
        assert!(
            parse(&missing, None)
                .unwrap_err()
                .detail
                .contains("payment_account is required")
        );
    }
}
