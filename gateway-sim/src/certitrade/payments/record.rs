//! The `payment` resource and its `payment_attempts[]`, printed the way
//! CertiTrade's examples print them: amounts and ids as strings, flags as
//! `"0"`/`"1"`, attempt details under `data.RECURRING`.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::super::cards::Card;
use super::super::hal::Origin;
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
        serde_json::to_value(self.printed(merchant, origin)).expect("payment serializes")
    }

    /// `to_json`, printed: a HAL answer's body without building a `Value` first.
    pub fn to_json_bytes(&self, merchant: &str, origin: &Origin) -> Vec<u8> {
        serde_json::to_vec(&self.printed(merchant, origin)).expect("payment serializes")
    }

    fn printed<'a>(&'a self, merchant: &'a str, origin: &'a Origin) -> PaymentJson<'a> {
        PaymentJson {
            payment: self,
            merchant,
            origin,
        }
    }
}

// The printers below write every object's keys in byte order, the order a `serde_json::Value`
// map (a BTreeMap) prints them in, so a payment printed straight to bytes is exactly what
// printing its `Value` gives; a test pins the two equal, and equal to the `json!` form.

/// A payment as the API prints it (`to_json`).
struct PaymentJson<'a> {
    payment: &'a Payment,
    merchant: &'a str,
    origin: &'a Origin,
}

impl Serialize for PaymentJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.payment;
        let flag = |on: bool| if on { "1" } else { "0" };
        let mut map = serializer.serialize_map(Some(19))?;
        map.serialize_entry("_embedded", &[(); 0])?;
        map.serialize_entry("_links", &Links(self))?;
        map.serialize_entry("amount", &p.amount.to_string())?;
        map.serialize_entry("authorized_amount", &p.authorized_amount.to_string())?;
        map.serialize_entry("callback_url", &p.callback_url)?;
        map.serialize_entry("created", &p.created)?;
        map.serialize_entry("currency", &p.currency)?;
        map.serialize_entry(
            "data",
            &Recurring(RecurringData {
                initialize: flag(p.initialize),
                payment_account: &p.payment_account,
            }),
        )?;
        map.serialize_entry("description", &p.description)?;
        map.serialize_entry("id", &p.id)?;
        map.serialize_entry("language", &p.language)?;
        map.serialize_entry("merchant", self.merchant)?;
        map.serialize_entry("method", "RECURRING")?;
        map.serialize_entry("payment_account", &p.payment_account)?;
        map.serialize_entry("payment_attempts", &p.attempts)?;
        map.serialize_entry("products", &[(); 0])?;
        map.serialize_entry("reference", &p.reference)?;
        map.serialize_entry("return_url", &p.return_url)?;
        map.serialize_entry("state", p.state.as_str())?;
        map.end()
    }
}

/// `_links`; only initializing payments go through the payment window.
struct Links<'a>(&'a PaymentJson<'a>);

impl Serialize for Links<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let PaymentJson {
            payment: p,
            merchant,
            origin,
        } = *self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(
            "merchant",
            &Href {
                href: origin.api(&format!("/merchant/{merchant}")),
            },
        )?;
        map.serialize_entry(
            "payment_account",
            &Href {
                href: origin.api(&format!("/payment_account/{}", p.payment_account)),
            },
        )?;
        if p.initialize {
            map.serialize_entry(
                "paywin",
                &Href {
                    href: origin.paywin(&p.id),
                },
            )?;
        }
        map.serialize_entry(
            "self",
            &Href {
                href: origin.api(&format!("/payment/{}", p.id)),
            },
        )?;
        map.end()
    }
}

/// HAL's link object, `{"href": url}` (`hal::link`).
#[derive(Serialize)]
struct Href {
    href: String,
}

/// `{"RECURRING": inner}`.
struct Recurring<T>(T);

impl<T: Serialize> Serialize for Recurring<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("RECURRING", &self.0)?;
        map.end()
    }
}

#[derive(Serialize)]
struct RecurringData<'a> {
    initialize: &'static str,
    payment_account: &'a str,
}

/// An attempt as the API prints it.
impl Serialize for Attempt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("created", &self.created)?;
        map.serialize_entry("data", &Recurring(AttemptData(self)))?;
        map.serialize_entry("method", "RECURRING")?;
        map.serialize_entry("result", if self.approved { "1" } else { "0" })?;
        map.end()
    }
}

struct AttemptData<'a>(&'a Attempt);

impl Serialize for AttemptData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("authcode", &a.authcode)?;
        map.serialize_entry("bin", &a.bin)?;
        map.serialize_entry("cardholder_name", "")?;
        map.serialize_entry("desc", a.desc)?;
        map.serialize_entry("masked_cardno", &a.masked_cardno)?;
        map.serialize_entry("respcode", a.respcode)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certitrade::hal::link;
    use axum::http::{HeaderMap, HeaderValue, header};
    use serde_json::json;

    /// What `to_json` printed before it printed straight from the structs: the reference.
    fn attempt_json(a: &Attempt) -> Value {
        json!({
            "created": a.created,
            "result": if a.approved { "1" } else { "0" },
            "method": "RECURRING",
            "data": {"RECURRING": {
                "desc": a.desc,
                "authcode": a.authcode,
                "respcode": a.respcode,
                "masked_cardno": a.masked_cardno,
                "bin": a.bin,
                "cardholder_name": "",
            }},
        })
    }

    fn payment_json(p: &Payment, merchant: &str, origin: &Origin) -> Value {
        let mut links = json!({
            "self": link(origin.api(&format!("/payment/{}", p.id))),
            "merchant": link(origin.api(&format!("/merchant/{merchant}"))),
            "payment_account": link(origin.api(&format!("/payment_account/{}", p.payment_account))),
        });
        // Only initializing payments go through the payment window.
        if p.initialize {
            links["paywin"] = link(origin.paywin(&p.id));
        }
        json!({
            "id": p.id,
            "created": p.created,
            "state": p.state.as_str(),
            "reference": p.reference,
            "description": p.description,
            "amount": p.amount.to_string(),
            "authorized_amount": p.authorized_amount.to_string(),
            "currency": p.currency,
            "language": p.language,
            "merchant": merchant,
            "method": "RECURRING",
            "payment_account": p.payment_account,
            "products": [],
            "payment_attempts": p.attempts.iter().map(attempt_json).collect::<Vec<_>>(),
            "data": {"RECURRING": {
                "initialize": if p.initialize { "1" } else { "0" },
                "payment_account": p.payment_account,
            }},
            "return_url": p.return_url,
            "callback_url": p.callback_url,
            "_links": links,
            "_embedded": [],
        })
    }

    fn request(initialize: bool) -> PaymentRequest {
        PaymentRequest {
            amount: 1299,
            currency: "SEK".into(),
            reference: "ref-\"1\"".into(),
            description: "Plan".into(),
            language: "sv".into(),
            return_url: initialize.then(|| "https://shop.example/return?x=<1>".into()),
            callback_url: initialize.then(|| "https://shop.example/cb".into()),
            initialize,
            payment_account: "40260868824".into(),
            message_id: Some("7".into()),
        }
    }

    #[test]
    fn printed_bytes_are_the_json_value() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let origin = Origin::from_headers(&headers);
        let card = Card::new("123456789000", "12/30");
        let mut payments = vec![
            Payment::new(
                "11111111".into(),
                &request(true),
                PaymentState::Created,
                "2027-01-01 00:00:00".into(),
            ),
            Payment::new(
                "22222222".into(),
                &request(false),
                PaymentState::Created,
                "2027-01-01 00:00:00".into(),
            ),
        ];
        let mut settled = payments[1].clone();
        settled.settle(Attempt::new(true, "RECURRING_AUTH", "00", Some(&card)));
        settled.settle(Attempt::new(false, "ACCOUNT_TERMINATED", "46", None));
        payments.push(settled);
        for p in &payments {
            let reference = payment_json(p, "1234", &origin);
            assert_eq!(p.to_json("1234", &origin), reference);
            assert_eq!(
                String::from_utf8(p.to_json_bytes("1234", &origin)).unwrap(),
                serde_json::to_string(&reference).unwrap()
            );
        }
    }
}
