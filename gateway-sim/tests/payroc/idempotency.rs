use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn same_key_same_body_replays_without_charging_again() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    let body = sale_body(&token, &order_id, 2500);
    let first = sim.sale(&key, &body).await;
    let second = sim.sale(&key, &body).await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(first.bytes, second.bytes, "replay must be byte-identical");
    assert_eq!(sim.ledger(&order_id).await.len(), 1);
    let results: Vec<_> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["result"].clone())
        .collect();
    assert_eq!(results, ["approved", "replayed"]);
}

#[tokio::test]
async fn same_key_different_body_is_409() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    assert_eq!(
        sim.sale(&key, &sale_body(&token, &order_id, 2500))
            .await
            .status,
        201
    );
    let conflict = sim.sale(&key, &sale_body(&token, &order_id, 2600)).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.content_type, "application/problem+json");
    let problem = conflict.json();
    assert_eq!(
        problem["type"],
        "https://docs.payroc.com/api/errors#idempotency-key-in-use"
    );
    assert_eq!(problem["title"], "Idempotency key in use");
    assert_eq!(problem["status"], 409);
    assert_eq!(sim.ledger(&order_id).await.len(), 1);
    assert_eq!(sim.requests().await[1]["result"], "conflict");
}

#[tokio::test]
async fn missing_or_non_v4_key_is_400() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let bytes = serde_json::to_vec(&sale_body(&token, &new_order_id(), 1000)).unwrap();
    let missing = read(
        sim.api_post("/payments", None, bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 400);
    let problem = missing.json();
    assert_eq!(problem["title"], "Idempotency key missing");
    assert_eq!(missing.error_params(), ["Idempotency-Key"]);

    let v1 = "c232ab00-9414-11ec-b3c8-9f6bdeced846";
    let bad = read(
        sim.api_post("/payments", Some(v1), bytes)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_params(), ["Idempotency-Key"]);
    assert!(sim.sim_get("/ledger").await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_duplicates_wait_and_replay() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    let body = sale_body(&token, &order_id, 3000);
    let answers = futures::future::join_all((0..8).map(|_| sim.sale(&key, &body))).await;
    assert!(
        answers
            .iter()
            .all(|a| a.status == 201 && a.bytes == answers[0].bytes)
    );
    assert_eq!(sim.ledger(&order_id).await.len(), 1);
    let replayed = sim
        .requests()
        .await
        .iter()
        .filter(|r| r["result"] == "replayed")
        .count();
    assert_eq!(replayed, 7);
}

#[tokio::test]
async fn server_error_trigger_fails_first_attempt_only() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    let body = sale_body(&token, &order_id, 1096);
    let first = sim.sale(&key, &body).await;
    assert_eq!(first.status, 500);
    assert!(first.content_type.starts_with("text/html"));
    assert!(sim.ledger(&order_id).await.is_empty());
    let resend = sim.sale(&key, &body).await;
    assert_eq!(resend.status, 201);
    assert_eq!(result(&resend.json())["status"], "ready");
    assert_eq!(sim.ledger(&order_id).await.len(), 1);
    let results: Vec<_> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["result"].clone())
        .collect();
    assert_eq!(results, [json!("server_error"), json!("approved")]);
}
