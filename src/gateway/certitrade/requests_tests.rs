//! Every CertiTrade request body, in every combination of its optional fields: an absent field
//! is left out, never sent as `null`.

use serde_json::Value;

use super::requests::{
    PaymentData, PaymentRequest, RecurringData, payment_account_body, recurring_body,
};
use crate::gateway::no_nulls::{assert_no_nulls, combinations};

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("the body is JSON")
}

#[test]
fn a_payment_account_request_never_carries_a_null() {
    let body = json(&payment_account_body(7));
    assert_no_nulls(&body);
    assert_eq!(
        body,
        serde_json::json!({"type": "RECURRING", "message_id": 7})
    );
}

#[test]
fn a_payment_request_never_carries_a_null() {
    const OPTIONAL: [&str; 5] = [
        "message_id",
        "description",
        "language",
        "return_url",
        "callback_url",
    ];
    for present in combinations(6) {
        let request = PaymentRequest {
            amount: "1250".into(),
            currency: "SEK",
            method: "RECURRING",
            reference: "ref-1",
            message_id: present[0].then_some(42),
            description: present[1].then_some("Card registration"),
            language: present[2].then_some("en"),
            return_url: present[3].then_some("https://m/return"),
            callback_url: present[4].then_some("https://m/cb"),
            data: PaymentData {
                recurring: RecurringData {
                    initialize: present[5].then_some("1"),
                    payment_account: "55",
                },
            },
        };
        let body = serde_json::to_value(&request).expect("a payment serializes");
        assert_no_nulls(&body);
        for (name, given) in OPTIONAL.iter().zip(&present) {
            assert_eq!(body.get(name).is_some(), *given, "{name} in {body}");
        }
        let recurring = &body["data"]["RECURRING"];
        assert_eq!(recurring.get("initialize").is_some(), present[5], "{body}");
        assert_eq!(recurring["payment_account"], "55");
    }
}

#[test]
fn the_bodies_billingd_sends_carry_no_null() {
    let charge = json(&recurring_body(1250, "SEK", "ref-1", "55", 42));
    assert_no_nulls(&charge);
    assert_eq!(charge["message_id"], 42);
    let init = json(&super::requests::sample_initializing_body(9));
    assert_no_nulls(&init);
    assert_eq!(init["message_id"], 9);
    assert_eq!(init["data"]["RECURRING"]["initialize"], "1");
}
