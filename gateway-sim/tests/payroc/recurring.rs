use serde_json::{Value, json};

use crate::common::*;

fn subsequent_body(token: &str, first: Option<&Value>) -> Value {
    let mut body = sale_body(token, &new_order_id(), 1000);
    body["order"]["standingInstructions"]["sequence"] = json!("subsequent");
    if let Some(first) = first {
        let mut reference = json!({"paymentId": first["paymentId"]});
        // A declined first payment has no scheme reference: left out, as null is refused.
        if let Some(scheme) = result(first)["cardSchemeReferenceId"].as_str() {
            reference["cardSchemeReferenceId"] = json!(scheme);
        }
        body["order"]["standingInstructions"]["referenceDataOfFirstTxn"] = reference;
    }
    body
}

const FIRST_TXN_ID: &str = "order.standingInstructions.referenceDataOfFirstTxn.paymentId";

#[tokio::test]
async fn subsequent_needs_an_approved_first_payment_on_the_same_token() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let other_token = sim.tokenize(VISA).await;

    let missing = sim.sale(&new_key(), &subsequent_body(&token, None)).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_params(), [FIRST_TXN_ID]);

    let first = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await
        .json();
    let declined = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1001))
        .await
        .json();

    let wrong_token = sim
        .sale(&new_key(), &subsequent_body(&other_token, Some(&first)))
        .await;
    assert_eq!(wrong_token.error_params(), [FIRST_TXN_ID]);
    let not_approved = sim
        .sale(&new_key(), &subsequent_body(&token, Some(&declined)))
        .await;
    assert_eq!(not_approved.error_params(), [FIRST_TXN_ID]);

    let body = subsequent_body(&token, Some(&first));
    let order_id = body["order"]["orderId"].as_str().unwrap().to_owned();
    let ok = sim.sale(&new_key(), &body).await;
    assert_eq!(ok.status, 201);
    let p = ok.json();
    assert_eq!(result(&p)["status"], "ready");
    assert_eq!(p["order"]["standingInstructions"]["sequence"], "subsequent");
    let ledger = sim.ledger(&order_id).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["sequence"], "subsequent");
    assert_eq!(ledger[0]["firstPaymentId"], first["paymentId"]);
    assert_eq!(
        ledger[0]["cardSchemeReferenceId"],
        result(&first)["cardSchemeReferenceId"]
    );
}

#[tokio::test]
async fn terminated_token_answers_closed_account() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let first = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await
        .json();
    assert_eq!(
        sim.sim_post(&format!("/tokens/{token}/terminate"), json!({}))
            .await
            .status,
        200
    );
    let p = sim
        .sale(&new_key(), &subsequent_body(&token, Some(&first)))
        .await
        .json();
    let r = result(&p);
    assert_eq!(r["status"], "declined");
    assert_eq!(r["responseCode"], "D");
    assert_eq!(r["processorResponseCode"], "46");
    assert_eq!(r["responseMessage"], "CLOSED ACCOUNT");
    assert_eq!(
        sim.sim_post("/tokens/296753000000/terminate", json!({}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn insufficient_funds_card_declines_twice_then_approves() {
    let sim = Sim::start().await;
    let token = sim.tokenize("4000000000000051").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let p = sim
            .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
            .await
            .json();
        let r = result(&p);
        statuses.push((r["status"].clone(), r["processorResponseCode"].clone()));
    }
    assert_eq!(
        statuses,
        [
            (json!("declined"), json!("51")),
            (json!("declined"), json!("51")),
            (json!("ready"), json!("00")),
        ]
    );
    assert_eq!(
        result(
            &sim.sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
                .await
                .json()
        )["responseMessage"],
        "APPROVAL"
    );
}

#[tokio::test]
async fn closing_card_approves_first_sale_only() {
    let sim = Sim::start().await;
    let token = sim.tokenize("4000000000000046").await;
    let first = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await
        .json();
    assert_eq!(result(&first)["status"], "ready");
    for _ in 0..2 {
        let p = sim
            .sale(&new_key(), &subsequent_body(&token, Some(&first)))
            .await
            .json();
        assert_eq!(result(&p)["processorResponseCode"], "46");
        assert_eq!(result(&p)["responseMessage"], "CLOSED ACCOUNT");
    }
}
