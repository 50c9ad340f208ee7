use serde_json::json;

use crate::common::*;

/// Sends a sale and reports whether the client got a complete response.
async fn sale_survives(sim: &Sim, key: &str, body: &serde_json::Value) -> bool {
    let bytes = serde_json::to_vec(body).unwrap();
    match sim.api_post("/payments", Some(key), bytes).send().await {
        Ok(resp) => resp.bytes().await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::test]
async fn drop_trigger_approves_then_resend_replays() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let order_id = new_order_id();
    let key = new_key();
    let body = sale_body(&token, &order_id, 1099);

    // Headers arrive, the body read fails.
    let bytes = serde_json::to_vec(&body).unwrap();
    let resp = sim
        .api_post("/payments", Some(&key), bytes)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.bytes().await.is_err(), "body read must fail");
    assert_eq!(sim.ledger(&order_id).await.len(), 1);

    let resend = sim.sale(&key, &body).await;
    assert_eq!(resend.status, 201);
    let p = resend.json();
    assert_eq!(result(&p)["status"], "ready");
    let ledger = sim.ledger(&order_id).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["paymentId"], p["paymentId"]);
    let results: Vec<_> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["result"].clone())
        .collect();
    assert_eq!(results, [json!("dropped"), json!("replayed")]);
}

#[tokio::test]
async fn armed_faults_fail_drop_and_garble() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let armed = sim
        .sim_post(
            "/faults",
            json!({"fail_next": 1, "drop_next": 1, "garbage_next": 1}),
        )
        .await;
    assert_eq!(armed.status, 200);

    // fail_next: HTML 500, nothing processed, key not burnt.
    let order_a = new_order_id();
    let key_a = new_key();
    let body_a = sale_body(&token, &order_a, 1000);
    let failed = sim.sale(&key_a, &body_a).await;
    assert_eq!(failed.status, 500);
    assert!(failed.content_type.starts_with("text/html"));
    assert!(sim.ledger(&order_a).await.is_empty());

    // drop_next: processed (booked) but the answer is lost.
    assert!(!sale_survives(&sim, &key_a, &body_a).await);
    assert_eq!(sim.ledger(&order_a).await.len(), 1);

    // garbage_next: processed answer replaced by non-JSON bytes.
    let order_b = new_order_id();
    let key_b = new_key();
    let body_b = sale_body(&token, &order_b, 1000);
    let garbage = sim.sale(&key_b, &body_b).await;
    assert_eq!(garbage.status, 201);
    assert!(serde_json::from_slice::<serde_json::Value>(&garbage.bytes).is_err());
    assert_eq!(sim.ledger(&order_b).await.len(), 1);

    // Counters are spent: resends replay the real answers.
    let a = sim.sale(&key_a, &body_a).await.json();
    let b = sim.sale(&key_b, &body_b).await.json();
    assert_eq!(sim.ledger(&order_a).await[0]["paymentId"], a["paymentId"]);
    assert_eq!(sim.ledger(&order_b).await[0]["paymentId"], b["paymentId"]);
    let left = sim.sim_get("/faults").await;
    assert_eq!(
        left,
        json!({"fail_next": 0, "drop_next": 0, "garbage_next": 0})
    );
    let results: Vec<_> = sim
        .requests()
        .await
        .iter()
        .map(|r| r["result"].clone())
        .collect();
    assert_eq!(
        results,
        [
            "server_error",
            "dropped",
            "approved",
            "replayed",
            "replayed"
        ]
    );
}
