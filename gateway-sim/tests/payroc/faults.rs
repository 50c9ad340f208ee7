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
    for counter in ["fail_next", "drop_next", "garbage_next"] {
        assert_eq!(left[counter], 0, "{counter}");
    }
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

#[tokio::test]
async fn random_faults_at_rate_one_fail_drop_slow_and_hold_then_are_counted() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let arm = |plan: serde_json::Value| sim.sim_post("/faults", plan);

    // fail_rate: a 500 page, nothing processed.
    assert_eq!(arm(json!({"fail_rate": 1})).await.status, 200);
    let order = new_order_id();
    let key = new_key();
    let body = sale_body(&token, &order, 1000);
    assert_eq!(sim.sale(&key, &body).await.status, 500);
    assert!(sim.ledger(&order).await.is_empty());

    // drop_rate: processed, the answer lost; a resend without faults replays it.
    arm(json!({"drop_rate": 1})).await;
    assert!(!sale_survives(&sim, &key, &body).await);
    assert_eq!(sim.ledger(&order).await.len(), 1);

    // slow_rate: processed, answered late.
    arm(json!({"slow_rate": 1, "slow_ms": 300})).await;
    let slow_order = new_order_id();
    let started = std::time::Instant::now();
    let slow = sim
        .sale(&new_key(), &sale_body(&token, &slow_order, 1000))
        .await;
    assert_eq!(slow.status, 201);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    // timeout_rate: held while processing, the key in flight: a resend under the same key
    // that arrives meanwhile gets 409 (nothing processed twice); the held request is then
    // approved, and a later resend replays it (one sale).
    arm(json!({"timeout_rate": 1, "timeout_ms": 400})).await;
    let held_order = new_order_id();
    let held_key = new_key();
    let held_body = sale_body(&token, &held_order, 1000);
    let held = sim.sale_owned(held_key.clone(), held_body.clone());
    let overtaking = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        arm(json!({})).await;
        sim.sale(&held_key, &held_body).await
    };
    let (original, resend) = tokio::join!(held, overtaking);
    assert_eq!(resend.status, 409, "the key is still in flight");
    assert_eq!(original.status, 201);
    let replay = sim.sale(&held_key, &held_body).await;
    assert_eq!(replay.status, 201);
    assert_eq!(original.json()["paymentId"], replay.json()["paymentId"]);
    assert_eq!(sim.ledger(&held_order).await.len(), 1);

    let status = sim.sim_get("/faults").await;
    assert_eq!(
        status["injected"],
        json!({"fail": 1, "drop": 1, "garbage": 0, "slow": 1, "timeout": 1})
    );
    assert_eq!(status["timeout_rate"], 0.0, "the last plan disarmed them");

    // Rates are checked.
    let bad = arm(json!({"fail_rate": 0.7, "drop_rate": 0.7})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_request_the_client_gave_up_on_is_processed_all_the_same() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    sim.sim_post("/faults", json!({"timeout_rate": 1, "timeout_ms": 300}))
        .await;
    let order = new_order_id();
    let bytes = serde_json::to_vec(&sale_body(&token, &order, 1000)).unwrap();
    let gave_up = sim
        .api_post("/payments", Some(&new_key()), bytes)
        .timeout(std::time::Duration::from_millis(100))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(sim.ledger(&order).await.len(), 1, "booked after all");
}
