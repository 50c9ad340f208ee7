//! A `null` for a typed field is a 400 naming every such field, as Payroc's typed API answers;
//! the same body with the fields left out is fine.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_secure_token_request_with_null_fields_is_400_naming_them() {
    let sim = Sim::start().await;
    let mut body = card_body(VISA, None);
    body["source"]["cardDetails"]["cardholderName"] = json!(null);
    body["source"]["cardDetails"]["keyedData"]["cvv"] = json!(null);
    let refused = sim.tokenize_raw(&body).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(
        refused.json()["type"],
        "https://docs.payroc.com/api/errors#bad-request"
    );
    let mut named = refused.error_params();
    named.sort();
    assert_eq!(
        named,
        [
            "source.cardDetails.cardholderName",
            "source.cardDetails.keyedData.cvv"
        ]
    );
    assert!(!String::from_utf8_lossy(&refused.bytes).contains(VISA));

    let details = body["source"]["cardDetails"].as_object_mut().unwrap();
    details.remove("cardholderName");
    details["keyedData"].as_object_mut().unwrap().remove("cvv");
    assert_eq!(sim.tokenize_raw(&body).await.status, 201);
}

#[tokio::test]
async fn a_sale_with_null_fields_is_400_and_charges_nothing() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let mut body = sale_body(&token, &order_id, 1000);
    body["order"]["description"] = json!(null);
    body["order"]["standingInstructions"]["referenceDataOfFirstTxn"] = json!(null);
    let refused = sim.sale(&new_key(), &body).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.error_params(),
        [
            "order.description",
            "order.standingInstructions.referenceDataOfFirstTxn"
        ]
    );
    assert!(sim.ledger(&order_id).await.is_empty());

    let fixed = sale_body(&token, &order_id, 1000);
    assert_eq!(sim.sale(&new_key(), &fixed).await.status, 201);
}
