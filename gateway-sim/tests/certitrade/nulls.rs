//! A `null` for a typed field is a 400 in CertiTrade's API Problem shape, naming the field —
//! however lenient the API is about strings and numbers.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_payment_account_request_with_a_null_is_400() {
    let sim = Sim::start().await;
    let refused = sim
        .post(
            "/payment_account",
            &json!({"type": "RECURRING", "message_id": null}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.content_type, "application/api-problem+json");
    let problem = refused.json();
    assert_eq!(problem["httpStatus"], 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("message_id"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_payment_with_null_fields_is_400_naming_each_and_charges_nothing() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let mut body = charge_body(&account, &new_reference(), 1000);
    body["description"] = json!(null);
    body["data"]["RECURRING"]["initialize"] = json!(null);
    let refused = sim.post("/payment", &body).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.content_type, "application/api-problem+json");
    let detail = refused.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("description") && detail.contains("data.RECURRING.initialize"),
        "{detail}"
    );
    assert_eq!(sim.ledger().await.len(), 1, "only the initializing payment");

    let fixed = charge_body(&account, &new_reference(), 1000);
    assert_eq!(sim.post("/payment", &fixed).await.status, 201);
}
