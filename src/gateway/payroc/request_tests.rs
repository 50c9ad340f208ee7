//! Every Payroc request body, in every combination of its optional fields: an absent field is
//! left out, never sent as `null` (a typed API answers 400 to a null string).

use secrecy::SecretString;
use serde_json::Value;

use super::token_request::CardDetails;
use super::token_request::SecureTokenRequest;
use super::transformers::{
    FirstTxnReference, Order, PaymentMethod, SaleRequest, StandingInstructions,
};
use crate::gateway::no_nulls::{assert_no_nulls, combinations};

#[test]
fn a_secure_token_request_never_carries_a_null() {
    for present in combinations(3) {
        let card = CardDetails {
            number: SecretString::from("4539858876047062"),
            expiry: "1230".into(),
            cvv: present[0].then(|| SecretString::from("737")),
            holder: present[1].then(|| "Ada Lovelace".to_owned()),
        };
        let id = present[2].then_some("billingd-0001");
        let body: Value = serde_json::from_str(&SecureTokenRequest::recurring(&card, id).to_json())
            .expect("the body is JSON");
        assert_no_nulls(&body);
        let details = &body["source"]["cardDetails"];
        assert_eq!(body["source"]["type"], "card");
        assert_eq!(body["mitAgreement"], "recurring");
        assert_eq!(details["keyedData"]["cardNumber"], "4539858876047062");
        assert_eq!(details["keyedData"].get("cvv").is_some(), present[0]);
        assert_eq!(details.get("cardholderName").is_some(), present[1]);
        assert_eq!(body.get("secureTokenId").is_some(), present[2]);
    }
}

#[test]
fn a_sale_request_never_carries_a_null() {
    for present in combinations(3) {
        let reference = present[0].then_some(FirstTxnReference {
            payment_id: present[1].then_some("F1I17KBL0E"),
            card_scheme_reference_id: present[2].then_some("MCC123456789"),
        });
        let sale = SaleRequest {
            channel: "moto",
            processing_terminal_id: "3204001",
            order: Order {
                order_id: "ord-1",
                amount: 4000,
                currency: "USD",
                standing_instructions: StandingInstructions {
                    sequence: if present[0] { "subsequent" } else { "first" },
                    processing_model: "recurring",
                    reference_data_of_first_txn: reference,
                },
            },
            payment_method: PaymentMethod::SecureToken {
                token: "296753123456",
            },
        };
        let body = serde_json::to_value(&sale).expect("a sale serializes");
        assert_no_nulls(&body);
        let first = body["order"]["standingInstructions"].get("referenceDataOfFirstTxn");
        assert_eq!(first.is_some(), present[0], "{body}");
        if let Some(first) = first {
            assert_eq!(first.get("paymentId").is_some(), present[1], "{body}");
            assert_eq!(first.get("cardSchemeReferenceId").is_some(), present[2]);
        }
    }
}
