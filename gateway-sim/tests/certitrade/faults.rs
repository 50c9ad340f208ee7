use reqwest::Method;

use crate::common::*;

#[tokio::test]
async fn amount_96_fails_the_first_request_only() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let mut body = charge_body(&account, &new_reference(), 1096);
    body["message_id"] = "5".into();
    let date = now_date();
    let failed = sim.post_at("/payment", &body, &date).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.content_type, "application/api-problem+json");
    assert_eq!(failed.json()["httpStatus"], 500);
    assert_eq!(sim.ledger().await.len(), 1, "only the initializing payment");

    let resend = sim.post_at("/payment", &body, &date).await;
    assert_eq!(resend.status, 201);
    assert_eq!(resend.json()["state"], "READY_FOR_CAPTURE");
    assert_eq!(sim.ledger().await.len(), 2);
    assert_eq!(sim.results().await[1..], ["server_error", "approved"]);
}

#[tokio::test]
async fn amount_99_books_then_drops_and_resend_replays() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let mut body = charge_body(&account, &new_reference(), 1099);
    body["message_id"] = 6.into();
    let bytes = serde_json::to_vec(&body).unwrap();
    let date = now_date();

    let resp = sim
        .signed(Method::POST, "/payment", &bytes, &date, API_KEY)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.bytes().await.is_err(), "the body read must fail");
    let ledger = sim.ledger().await;
    assert_eq!(ledger.len(), 2, "booked although the answer was lost");

    let resend = sim.post_at("/payment", &body, &date).await;
    assert_eq!(resend.status, 201);
    let p = resend.json();
    assert_eq!(p["state"], "READY_FOR_CAPTURE");
    assert_eq!(ledger[1]["id"], p["id"]);
    assert_eq!(sim.ledger().await.len(), 2);
    assert_eq!(sim.results().await[1..], ["dropped", "replayed"]);
}

#[tokio::test]
async fn amount_99_without_message_id_charges_twice_on_resend() {
    // Why billingd must send message_id: without it a resend is a new charge.
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let body = charge_body(&account, &new_reference(), 1099);
    let bytes = serde_json::to_vec(&body).unwrap();
    let date = now_date();
    let resp = sim
        .signed(Method::POST, "/payment", &bytes, &date, API_KEY)
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.is_err());
    let resend = sim.post_at("/payment", &body, &date).await;
    assert_eq!(resend.status, 201);
    assert_eq!(sim.ledger().await.len(), 3);
    assert_eq!(sim.results().await[1..], ["dropped", "approved"]);
}

#[tokio::test]
async fn random_faults_at_rate_one_fail_drop_and_hold_then_are_counted() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let arm = |plan: serde_json::Value| sim.sim_post("/faults", plan);

    // fail_rate: a 500 problem, nothing processed or remembered.
    assert_eq!(arm(serde_json::json!({"fail_rate": 1})).await.status, 200);
    let mut body = charge_body(&account, &new_reference(), 1000);
    body["message_id"] = 11.into();
    let date = now_date();
    assert_eq!(sim.post_at("/payment", &body, &date).await.status, 500);
    assert_eq!(sim.ledger().await.len(), 1, "only the initializing payment");

    // drop_rate: processed and booked, the answer lost; the resend replays it.
    arm(serde_json::json!({"drop_rate": 1})).await;
    let bytes = serde_json::to_vec(&body).unwrap();
    let resp = sim
        .signed(Method::POST, "/payment", &bytes, &date, API_KEY)
        .send()
        .await
        .expect("headers arrive");
    assert!(resp.bytes().await.is_err(), "the body read must fail");
    assert_eq!(sim.ledger().await.len(), 2);
    arm(serde_json::json!({})).await;
    let resend = sim.post_at("/payment", &body, &date).await;
    assert_eq!(resend.json()["state"], "READY_FOR_CAPTURE");
    assert_eq!(sim.ledger().await.len(), 2);

    // slow_rate: answered late.
    arm(serde_json::json!({"slow_rate": 1, "slow_ms": 300})).await;
    let started = std::time::Instant::now();
    let slow = sim.charge(&account, 1000).await;
    assert_eq!(slow.status, 201);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    // timeout_rate: held before processing, then processed.
    arm(serde_json::json!({"timeout_rate": 1, "timeout_ms": 300})).await;
    let started = std::time::Instant::now();
    assert_eq!(sim.charge(&account, 1000).await.status, 201);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(sim.ledger().await.len(), 4);

    let url = format!("{}/_sim/certitrade/faults", sim.sim.base_url());
    let status = read(sim.http.get(url).send().await.unwrap()).await.json();
    assert_eq!(
        status["injected"],
        serde_json::json!({"fail": 1, "drop": 1, "garbage": 0, "slow": 1, "timeout": 1})
    );
    let bad = arm(serde_json::json!({"slow_rate": 2})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_request_the_client_gave_up_on_is_processed_all_the_same() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    sim.sim_post(
        "/faults",
        serde_json::json!({"timeout_rate": 1, "timeout_ms": 300}),
    )
    .await;
    let mut body = charge_body(&account, &new_reference(), 1000);
    body["message_id"] = 12.into();
    let bytes = serde_json::to_vec(&body).unwrap();
    let gave_up = sim
        .signed(Method::POST, "/payment", &bytes, &now_date(), API_KEY)
        .timeout(std::time::Duration::from_millis(100))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(sim.ledger().await.len(), 2, "booked after all");
}

#[tokio::test]
async fn one_shot_counters_fail_then_drop_the_next_initializing_payments() {
    let sim = Sim::start().await;
    let account = sim.create_account().await;
    let armed = sim
        .sim_post(
            "/faults",
            serde_json::json!({"fail_next": 1, "drop_next": 1}),
        )
        .await;
    assert_eq!(armed.json()["fail_next"], 1);
    let mut body = init_body(&account, &new_reference(), "http://127.0.0.1:9/cb");
    body["message_id"] = 21.into();
    let date = now_date();

    // fail_next: a 500 api-problem; nothing made, nothing remembered.
    let failed = sim.post_at("/payment", &body, &date).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.content_type, "application/api-problem+json");
    let reference = body["reference"].as_str().unwrap().to_owned();
    let found = sim.get(&format!("/payment?reference={reference}")).await;
    assert_eq!(found.json()["count"], 0);

    // drop_next: the resend is made, then its answer is lost; the next resend replays it.
    let bytes = serde_json::to_vec(&body).unwrap();
    let resp = sim
        .signed(Method::POST, "/payment", &bytes, &date, API_KEY)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.bytes().await.is_err(), "the body read must fail");
    let replay = sim.post_at("/payment", &body, &date).await;
    assert_eq!(replay.status, 201);
    let found = sim.get(&format!("/payment?reference={reference}")).await;
    assert_eq!(found.json()["count"], 1, "one payment for three sends");
    assert_eq!(
        found.json()["_embedded"]["payment"][0]["id"],
        replay.json()["id"]
    );
    assert_eq!(sim.results().await, ["server_error", "dropped", "replayed"]);
}

#[tokio::test]
async fn one_shot_counters_fail_then_drop_the_next_payment_accounts() {
    let sim = Sim::start().await;
    sim.sim_post(
        "/faults",
        serde_json::json!({"account_fail_next": 1, "account_drop_next": 1}),
    )
    .await;
    let body = serde_json::json!({"type": "RECURRING", "message_id": 31});
    let date = now_date();
    let failed = sim.post_at("/payment_account", &body, &date).await;
    assert_eq!(failed.status, 500);
    assert!(sim.sim_get("/accounts").await.is_empty(), "none made");

    let bytes = serde_json::to_vec(&body).unwrap();
    let resp = sim
        .signed(Method::POST, "/payment_account", &bytes, &date, API_KEY)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.bytes().await.is_err(), "the body read must fail");
    let made = sim.sim_get("/accounts").await;
    assert_eq!(made.len(), 1, "made although the answer was lost");

    let replay = sim.post_at("/payment_account", &body, &date).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json()["id"], made[0]["id"]);
    assert_eq!(sim.sim_get("/accounts").await.len(), 1);
    let url = format!("{}/_sim/certitrade/faults", sim.sim.base_url());
    let status = read(sim.http.get(url).send().await.unwrap()).await.json();
    assert_eq!(status["account_drop_next"], 0);
    assert_eq!(status["injected"]["fail"], 1);
    assert_eq!(status["injected"]["drop"], 1);
}
