use gateway_sim::{ResultField, SimConfig};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn approved_sale_has_payroc_shape() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    let resp = sim.sale(&key, &sale_body(&token, &order_id, 4950)).await;
    assert_eq!(resp.status, 201);
    assert_eq!(resp.content_type, "application/json");
    let p = resp.json();
    let id = p["paymentId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(p["processingTerminalId"], TERMINAL);
    assert_eq!(p["order"]["orderId"], order_id.as_str());
    assert_eq!(p["order"]["amount"], 4950);
    assert_eq!(p["order"]["currency"], "USD");
    assert_eq!(p["order"]["description"], "Monthly plan");
    assert_eq!(p["order"]["standingInstructions"]["sequence"], "first");
    assert!(p["order"]["dateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(p["card"]["type"], "Visa");
    assert_eq!(p["card"]["entryMethod"], "keyed");
    assert_eq!(p["card"]["cardNumber"], "453985******7062");
    assert_eq!(p["card"]["secureToken"]["token"], token.as_str());
    let r = result(&p);
    assert_eq!(r["type"], "sale");
    assert_eq!(r["status"], "ready");
    assert_eq!(r["responseCode"], "A");
    assert_eq!(r["responseMessage"], "APPROVAL");
    assert_eq!(r["processorResponseCode"], "00");
    assert_eq!(r["authorizedAmount"], 4950);
    assert_eq!(r["approvalCode"].as_str().unwrap().len(), 6);
    assert_eq!(r["cardSchemeReferenceId"].as_str().unwrap().len(), 15);

    let ledger = sim.ledger(&order_id).await;
    assert_eq!(ledger.len(), 1);
    let entry = &ledger[0];
    assert_eq!(entry["paymentId"], p["paymentId"]);
    assert_eq!(entry["idempotencyKey"], key.as_str());
    assert_eq!(entry["amount"], 4950);
    assert_eq!(entry["token"], token.as_str());
    assert_eq!(entry["sequence"], "first");
    assert_eq!(entry["processingModel"], "recurring");
    assert_eq!(entry["firstPaymentId"], Value::Null);

    // Retrieve and list by order id return the same payment.
    let got = sim.api_get(&format!("/payments/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), p);
    let list = sim
        .api_get(&format!("/payments?orderId={order_id}"))
        .await
        .json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["hasMore"], false);
    assert_eq!(list["data"][0], p);
    let missing = sim.api_get("/payments/NOSUCHPAY1").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.content_type, "application/problem+json");
}

/// (amount, status, responseCode, processorResponseCode, responseMessage)
const DECLINES: &[(u64, &str, &str, &str, &str)] = &[
    (4901, "declined", "D", "05", "Do Not Honor"),
    (4902, "referral", "R", "01", "Refer to Card Issuer"),
    (1403, "declined", "D", "N7", "CVV2 MISMATCH"),
    (1043, "pickup", "C", "43", "PICK UP CARD - STOLEN"),
    (1046, "declined", "D", "46", "CLOSED ACCOUNT"),
    (1051, "declined", "D", "51", "INSUFFICIENT FUNDS"),
    (1054, "declined", "D", "54", "EXPIRED CARD"),
];

#[tokio::test]
async fn amount_triggers_decline() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    for &(amount, status, code, processor, message) in DECLINES {
        let order_id = new_order_id();
        let resp = sim
            .sale(&new_key(), &sale_body(&token, &order_id, amount))
            .await;
        assert_eq!(resp.status, 201, "amount {amount}");
        let p = resp.json();
        let r = result(&p);
        assert_eq!(r["status"], status, "amount {amount}");
        assert_eq!(r["responseCode"], code, "amount {amount}");
        assert_eq!(r["processorResponseCode"], processor, "amount {amount}");
        assert_eq!(r["responseMessage"], message, "amount {amount}");
        assert!(r.get("approvalCode").is_none());
        assert!(r.get("cardSchemeReferenceId").is_none());
        assert!(sim.ledger(&order_id).await.is_empty(), "amount {amount}");
    }
    let labels: Vec<_> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["result"].clone())
        .collect();
    assert_eq!(
        labels,
        [
            "declined", "referral", "declined", "pickup", "declined", "declined", "declined"
        ]
    );
}

#[tokio::test]
async fn pending_sale_settles_as_approved_on_retrieve() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let p = sim
        .sale(&new_key(), &sale_body(&token, &order_id, 1098))
        .await
        .json();
    assert_eq!(result(&p)["status"], "pending");
    assert_eq!(result(&p)["responseCode"], "E");
    let id = p["paymentId"].as_str().unwrap();
    let later = sim.api_get(&format!("/payments/{id}")).await.json();
    assert_eq!(result(&later)["status"], "ready");
    assert_eq!(result(&later)["responseCode"], "A");
    assert_eq!(result(&later)["authorizedAmount"], 1098);
    assert_eq!(sim.ledger(&order_id).await.len(), 1);
}

#[tokio::test]
async fn slow_trigger_delays_the_answer() {
    let config = SimConfig {
        slow_delay: std::time::Duration::from_millis(400),
        ..SimConfig::default()
    };
    let sim = Sim::start_with(config).await;
    let token = sim.tokenize(VISA).await;
    let started = std::time::Instant::now();
    let resp = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1097))
        .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    assert_eq!(result(&resp.json())["status"], "ready");
}

#[tokio::test]
async fn result_field_can_be_named_payment_result() {
    let config = SimConfig {
        result_field: ResultField::PaymentResult,
        ..SimConfig::default()
    };
    let sim = Sim::start_with(config).await;
    let token = sim.tokenize(VISA).await;
    let p = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await
        .json();
    assert!(p.get("transactionResult").is_none());
    assert_eq!(p["paymentResult"]["responseCode"], "A");
}

/// Edits a valid sale body into an invalid one.
type Mutation = fn(&mut Value);

#[tokio::test]
async fn invalid_bodies_are_400_naming_the_parameter() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let base = sale_body(&token, &new_order_id(), 1000);
    let cases: Vec<(Mutation, &str)> = vec![
        (|b| b["channel"] = json!("phone"), "channel"),
        (
            |b| b["processingTerminalId"] = json!(""),
            "processingTerminalId",
        ),
        (
            |b| b["order"]["orderId"] = json!("x".repeat(25)),
            "order.orderId",
        ),
        (|b| b["order"]["amount"] = json!(0), "order.amount"),
        (|b| b["order"]["amount"] = json!(10.5), "order.amount"),
        (|b| b["order"]["currency"] = json!("usd"), "order.currency"),
        (
            |b| b["paymentMethod"] = json!({"type": "card"}),
            "paymentMethod.type",
        ),
        (
            |b| b["paymentMethod"]["token"] = json!("296753999999"),
            "paymentMethod.token",
        ),
        (
            |b| {
                b["order"]
                    .as_object_mut()
                    .unwrap()
                    .remove("standingInstructions");
            },
            "order.standingInstructions",
        ),
        (
            |b| b["order"]["standingInstructions"]["sequence"] = json!("second"),
            "order.standingInstructions.sequence",
        ),
        (
            |b| b["order"]["standingInstructions"]["processingModel"] = json!("monthly"),
            "order.standingInstructions.processingModel",
        ),
    ];
    for (mutate, param) in cases {
        let mut body = base.clone();
        mutate(&mut body);
        let resp = sim.sale(&new_key(), &body).await;
        assert_eq!(resp.status, 400, "{param}");
        assert_eq!(resp.content_type, "application/problem+json");
        assert_eq!(resp.error_params(), [param]);
    }
    let raw = sim.api_post("/payments", Some(&new_key()), b"{not json".to_vec());
    let resp = read(raw.send().await.unwrap()).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json()["type"],
        "https://docs.payroc.com/api/errors#bad-request"
    );
    assert!(
        sim.requests()
            .await
            .iter()
            .all(|r| r["result"] == "bad_request")
    );
}
