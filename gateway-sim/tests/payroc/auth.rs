use std::time::Duration;

use gateway_sim::SimConfig;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn authorize_issues_bearer_tokens() {
    let sim = Sim::start().await;
    let ok = sim.authorize(Some(API_KEY)).await;
    assert_eq!(ok.status, 200);
    let body = ok.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    assert!(body["scope"].is_string());
}

#[tokio::test]
async fn missing_or_wrong_api_key_is_401_problem() {
    let sim = Sim::start().await;
    for key in [None, Some("wrong-key")] {
        let resp = sim.authorize(key).await;
        assert_eq!(resp.status, 401);
        assert_eq!(resp.content_type, "application/problem+json");
        let problem = resp.json();
        assert_eq!(problem["status"], 401);
        assert_eq!(problem["title"], "Unauthorized");
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("https://docs.payroc.com/api/errors#")
        );
    }
}

#[tokio::test]
async fn api_rejects_missing_and_unknown_bearer() {
    let mut sim = Sim::start().await;
    let url = format!("{}/payments/ABC", sim.sim.payroc_api_url());
    let resp = read(sim.http.get(&url).send().await.unwrap()).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["title"], "Unauthorized");

    sim.bearer = "made-up".into();
    let resp = sim
        .sale(&new_key(), &sale_body("296753000000", &new_order_id(), 100))
        .await;
    assert_eq!(resp.status, 401);
    let log = sim.requests().await;
    assert_eq!(log.last().unwrap()["result"], "unauthorized");
}

#[tokio::test]
async fn bearer_expires_after_ttl() {
    let config = SimConfig {
        token_ttl: Duration::from_secs(1),
        ..SimConfig::default()
    };
    let sim = Sim::start_with(config).await;
    assert_eq!(sim.authorize(Some(API_KEY)).await.json()["expires_in"], 1);
    let token = sim.tokenize(VISA).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await;
    assert_eq!(resp.status, 401);
}

#[tokio::test]
async fn expire_all_invalidates_issued_tokens() {
    let mut sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let expired = sim.sim_post("/auth/expire-all", json!({})).await;
    assert_eq!(expired.status, 200);

    let key = new_key();
    let body = sale_body(&token, &new_order_id(), 1000);
    assert_eq!(sim.sale(&key, &body).await.status, 401);

    // A fresh token works again, and the 401 did not burn the idempotency key.
    sim.bearer = sim.authorize(Some(API_KEY)).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = sim.sale(&key, &body).await;
    assert_eq!(resp.status, 201);
    assert_eq!(result(&resp.json())["status"], "ready");
}
