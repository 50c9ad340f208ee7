use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn new_account_is_uninitialized() {
    let sim = Sim::start().await;
    let created = sim
        .post("/payment_account", &json!({"type": "RECURRING"}))
        .await;
    assert_eq!(created.status, 201);
    let account = created.json();
    let id = account["id"].as_str().unwrap();
    assert!(id.parse::<u64>().is_ok(), "numeric id as a string: {id}");
    assert_eq!(account["state"], "UNINITIALIZED");
    assert_eq!(account["merchant"], MERCHANT);
    assert_eq!(account["type"], "RECURRING");
    for field in ["expiry_date", "masked_cardno", "bin"] {
        assert!(account[field].is_null(), "{field}");
    }
    assert!(account["created"].is_string());
    let self_href = sim.url(&format!("/payment_account/{id}"));
    assert_eq!(account["_links"]["self"]["href"], self_href);

    let read_back = sim.get(&format!("/payment_account/{id}")).await;
    assert_eq!(read_back.status, 200);
    assert_eq!(read_back.content_type, "application/hal+json");
    assert_eq!(read_back.json(), account);
}

#[tokio::test]
async fn unknown_account_is_404() {
    let sim = Sim::start().await;
    let resp = sim.get("/payment_account/40260868824").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.content_type, "application/api-problem+json");
    assert_eq!(resp.json()["httpStatus"], 404);
}

#[tokio::test]
async fn bad_account_bodies_are_400() {
    let sim = Sim::start().await;
    for body in [json!({}), json!({"type": "ONE_CLICK"}), json!({"type": 1})] {
        let resp = sim.post("/payment_account", &body).await;
        assert_eq!(resp.status, 400, "{body}");
        assert!(resp.json()["detail"].as_str().unwrap().contains("type"));
    }
}

#[tokio::test]
async fn account_resend_with_same_date_and_message_id_creates_one() {
    let sim = Sim::start().await;
    let date = now_date();
    let body = json!({"type": "RECURRING", "message_id": 17});
    let first = sim.post_at("/payment_account", &body, &date).await;
    let again = sim.post_at("/payment_account", &body, &date).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.bytes, again.bytes);
}

#[tokio::test]
async fn sim_suspend_and_close() {
    let sim = Sim::start().await;
    let fresh = sim.create_account().await;
    let refused = sim
        .sim_post(&format!("/accounts/{fresh}/suspend"), json!({}))
        .await;
    assert_eq!(refused.status, 409);

    let account = sim.active_account(GOOD_CARD).await;
    let suspended = sim
        .sim_post(&format!("/accounts/{account}/suspend"), json!({}))
        .await;
    assert_eq!(suspended.json()["state"], "SUSPENDED");
    let charge = sim.charge(&account, 1000).await.json();
    assert_eq!(charge["state"], "FAILED");
    assert_eq!(last_attempt(&charge)["desc"], "ACCOUNT_TERMINATED");

    let closed = sim
        .sim_post(&format!("/accounts/{account}/close"), json!({}))
        .await;
    assert_eq!(closed.json()["state"], "CLOSED");
    let reinit = sim
        .post(
            "/payment",
            &init_body(&account, &new_reference(), "http://127.0.0.1:9/cb"),
        )
        .await;
    assert_eq!(reinit.status, 400);
    assert!(reinit.json()["detail"].as_str().unwrap().contains("CLOSED"));
    let unknown = sim.sim_post("/accounts/1/suspend", json!({})).await;
    assert_eq!(unknown.status, 404);
}
