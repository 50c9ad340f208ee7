//! The two gateway calls of a CertiTrade registration — `POST /payment_account` and the
//! initializing `POST /payment` — as stored requests that can be settled after a lost answer.
//!
//! Each request is fixed (Date header and body, with a `message_id`) and stored before its
//! first send. A resend within `resend_window` of that Date repeats both, which CertiTrade
//! recognizes as the same message: it replays its first answer and makes nothing new. Later,
//! the initializing payment is looked up by its unique reference (`GET /payment?reference=…`)
//! and only sent again, re-stamped, when CertiTrade has none. A payment_account carries no
//! reference of ours and CertiTrade's account search cannot tell ours apart, so a
//! payment_account request whose answer stayed lost beyond the resend window is re-stamped
//! without a lookup: at worst CertiTrade keeps an `UNINITIALIZED` account that nothing ever
//! charges.

use uuid::Uuid;

use super::client::{Age, CertiTradeClient, Initialization};
use super::transformers::{self, Initializing, Payment, PaymentAccount};
use crate::domain::answer_class::{self, AnswerClass};
use crate::gateway::{StepResend, StepResult};

/// A `message_id` for a new stored request: CertiTrade pairs it with the Date, so it only has
/// to differ between requests sent under the same Date.
fn fresh_message_id() -> u32 {
    let bytes = Uuid::new_v4().into_bytes();
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) & 0x7fff_ffff
}

/// A stored request: its Date header, a newline, its body.
fn split(stored: &str) -> Option<(&str, &str)> {
    stored.split_once('\n')
}

/// What an HTTP answer to a registration POST says, before its body is read. The same table
/// as for payments: only 400 is a refusal; 401/403 (clock or key), 409, 5xx and anything
/// undocumented leave the request unknown.
fn classify<T>(
    status: u16,
    body: &[u8],
    read: impl FnOnce(&[u8]) -> StepResult<T>,
) -> StepResult<T> {
    match answer_class::certitrade_payment(status) {
        AnswerClass::ReadPayment => read(body),
        AnswerClass::Rejected => StepResult::Refused(transformers::problem_message(status, body)),
        AnswerClass::RefreshCredentials | AnswerClass::Unknown => {
            StepResult::Unknown(transformers::problem_message(status, body))
        }
    }
}

fn read_payment_account(body: &[u8]) -> StepResult<String> {
    match serde_json::from_slice::<PaymentAccount>(body) {
        Ok(PaymentAccount { id: Some(id), .. }) => StepResult::Done(id),
        Ok(_) => StepResult::Unknown("CertiTrade created a payment_account without an id".into()),
        Err(e) => StepResult::Unknown(format!("unreadable CertiTrade payment_account: {e}")),
    }
}

/// An initializing payment as CertiTrade shows it: what the customer must open.
fn initialization_of(payment: &Payment) -> StepResult<Initialization> {
    match (payment.id.clone(), payment.paywin()) {
        (Some(payment_id), Some(link)) => StepResult::Done(Initialization { payment_id, link }),
        _ => StepResult::Unknown(format!(
            "CertiTrade's initializing payment {} ({}) has no paywin link",
            payment.id.as_deref().unwrap_or("without an id"),
            payment.state.as_deref().unwrap_or("no state")
        )),
    }
}

fn read_initialization(body: &[u8]) -> StepResult<Initialization> {
    match serde_json::from_slice::<Payment>(body) {
        Ok(payment) => initialization_of(&payment),
        Err(e) => StepResult::Unknown(format!("unreadable CertiTrade payment: {e}")),
    }
}

impl CertiTradeClient {
    /// The stored request that creates a RECURRING payment_account.
    pub fn payment_account_request(&self) -> String {
        self.restamped(&transformers::payment_account_body(fresh_message_id()))
    }

    /// Within the resend window: as stored. Then unknown until CertiTrade cannot still be
    /// processing it; then re-stamped (see the module's note on why there is no lookup).
    pub fn before_payment_account(&self, stored: &str) -> StepResend<String> {
        let Some((date, body)) = split(stored) else {
            return StepResend::Restamped(self.payment_account_request());
        };
        match self.age(date) {
            Age::Resendable => StepResend::AsStored,
            Age::MayBeInFlight(why) => StepResend::Answered(StepResult::Unknown(why)),
            Age::Settled => StepResend::Restamped(self.restamped(body)),
        }
    }

    pub async fn send_payment_account(&self, stored: &str) -> StepResult<String> {
        self.send_step(stored, "/payment_account", read_payment_account)
            .await
    }

    /// The stored request of an initializing payment on `payment_account`, under a reference
    /// unique to it (kept with the request, so a lookup can find what it made).
    pub fn initializing_request(&self, payment_account: &str, reference: &str) -> String {
        let s = self.settings();
        self.restamped(&transformers::initializing_body(&Initializing {
            amount: s.initializing_amount,
            currency: &s.initializing_currency,
            reference,
            payment_account,
            return_url: &s.return_url,
            callback_url: &s.callback_url,
            language: &s.language,
            message_id: fresh_message_id(),
        }))
    }

    /// Within the resend window: as stored. Then unknown until CertiTrade cannot still be
    /// processing it; then looked up by its reference: found, that payment is the answer; not
    /// found, the same body goes out under a new Date.
    pub async fn before_initializing(&self, stored: &str) -> StepResend<Initialization> {
        let Some((date, body)) = split(stored) else {
            return StepResend::Answered(StepResult::Refused(
                "the stored initializing request is malformed".into(),
            ));
        };
        match self.age(date) {
            Age::Resendable => return StepResend::AsStored,
            Age::MayBeInFlight(why) => return StepResend::Answered(StepResult::Unknown(why)),
            Age::Settled => {}
        }
        let reference = transformers::reference_of(body).unwrap_or_default();
        match self.find_by_reference(&reference).await {
            Ok(Some(payment)) => StepResend::Answered(initialization_of(&payment)),
            Ok(None) => StepResend::Restamped(self.restamped(body)),
            Err(e) => StepResend::Answered(StepResult::Unknown(e)),
        }
    }

    pub async fn send_initializing(&self, stored: &str) -> StepResult<Initialization> {
        self.send_step(stored, "/payment", read_initialization)
            .await
    }

    async fn send_step<T>(
        &self,
        stored: &str,
        path: &str,
        read: impl FnOnce(&[u8]) -> StepResult<T>,
    ) -> StepResult<T> {
        let Some((date, body)) = split(stored) else {
            return StepResult::Refused(format!("the stored request for POST {path} is malformed"));
        };
        match self
            .call(reqwest::Method::POST, path, Some(body), date)
            .await
        {
            Ok((status, answer)) => classify(status, &answer, read),
            Err(e) => StepResult::Unknown(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_account_answer_is_done_only_with_an_id() {
        let ok = br#"{"id": 40260868824, "state": "UNINITIALIZED"}"#;
        assert!(
            matches!(classify(201, ok, read_payment_account), StepResult::Done(id) if id == "40260868824")
        );
        assert!(matches!(
            classify(201, b"{}", read_payment_account),
            StepResult::Unknown(_)
        ));
        assert!(matches!(
            classify(400, br#"{"title":"Bad request"}"#, read_payment_account),
            StepResult::Refused(_)
        ));
        for status in [401, 403, 409, 500, 503] {
            assert!(matches!(
                classify(status, b"", read_payment_account),
                StepResult::Unknown(_)
            ));
        }
    }

    #[test]
    fn an_initializing_answer_is_done_only_with_its_link() {
        let ok =
            br#"{"id": "77", "state": "CREATED", "_links": {"paywin": {"href": "https://p/77"}}}"#;
        match classify(201, ok, read_initialization) {
            StepResult::Done(i) => assert_eq!(
                (i.payment_id.as_str(), i.link.as_str()),
                ("77", "https://p/77")
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(
                201,
                br#"{"id": "77", "state": "CREATED"}"#,
                read_initialization
            ),
            StepResult::Unknown(_)
        ));
        assert!(matches!(
            classify(201, b"<html>", read_initialization),
            StepResult::Unknown(_)
        ));
        assert!(matches!(
            classify(500, b"", read_initialization),
            StepResult::Unknown(_)
        ));
    }

    #[test]
    fn message_ids_are_positive_31_bit_integers() {
        for _ in 0..100 {
            assert!(fresh_message_id() <= 0x7fff_ffff);
        }
    }
}
