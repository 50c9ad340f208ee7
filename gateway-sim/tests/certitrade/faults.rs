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
