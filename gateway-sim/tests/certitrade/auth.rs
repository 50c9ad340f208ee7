use reqwest::Method;
use serde_json::json;

use crate::common::*;

fn assert_problem(resp: &Resp, status: u16) -> serde_json::Value {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.content_type, "application/api-problem+json");
    let problem = resp.json();
    assert_eq!(problem["httpStatus"], status);
    assert!(problem["describedBy"].is_string());
    assert!(problem["detail"].is_string());
    problem
}

#[tokio::test]
async fn correctly_signed_requests_are_accepted() {
    let sim = Sim::start().await;
    let resp = sim
        .post("/payment_account", &json!({"type": "RECURRING"}))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.content_type, "application/hal+json");
    // GET: empty body, query string part of the signed URL.
    let search = sim.get("/payment?reference=nothing&state=CREATED").await;
    assert_eq!(search.status, 200, "{}", search.text());
}

#[tokio::test]
async fn wrong_key_or_merchant_is_403_not_authorized() {
    let sim = Sim::start().await;
    let body = br#"{"type":"RECURRING"}"#;
    let wrong_key = sim.signed(
        Method::POST,
        "/payment_account",
        body,
        &now_date(),
        "not-the-key",
    );
    let problem = assert_problem(&read(wrong_key.send().await.unwrap()).await, 403);
    assert_eq!(problem["title"], "Not authorized");

    // Same valid digest, but claimed by another merchant.
    let date = now_date();
    let url = sim.url("/payment_account");
    let digest = hmac_hex(API_KEY, &[b"POST", url.as_bytes(), date.as_bytes(), body]);
    let other = sim
        .http
        .post(&url)
        .header("Date", &date)
        .header("Authorization", format!("CertiTrade m999:{digest}"))
        .body(body.to_vec());
    let problem = assert_problem(&read(other.send().await.unwrap()).await, 403);
    assert!(problem["detail"].as_str().unwrap().contains("merchant"));

    let unsigned = sim
        .http
        .get(sim.url("/payment/1"))
        .header("Date", now_date());
    assert_problem(&read(unsigned.send().await.unwrap()).await, 403);
}

#[tokio::test]
async fn tampered_body_or_path_is_403() {
    let sim = Sim::start().await;
    let signed_for = br#"{"type":"RECURRING"}"#;
    let tampered = sim
        .signed(
            Method::POST,
            "/payment_account",
            signed_for,
            &now_date(),
            API_KEY,
        )
        .body(br#"{"type": "RECURRING"}"#.to_vec());
    let problem = assert_problem(&read(tampered.send().await.unwrap()).await, 403);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Signature mismatch")
    );

    let account = sim.create_account().await;
    let date = now_date();
    let digest = hmac_hex(
        API_KEY,
        &[
            b"GET",
            sim.url("/payment_account/1").as_bytes(),
            date.as_bytes(),
        ],
    );
    let moved = sim
        .http
        .get(sim.url(&format!("/payment_account/{account}")))
        .header("Date", &date)
        .header("Authorization", format!("CertiTrade m{MERCHANT}:{digest}"));
    assert_problem(&read(moved.send().await.unwrap()).await, 403);
    assert!(
        sim.results().await.is_empty(),
        "only POST /payment is logged"
    );
}

#[tokio::test]
async fn stale_missing_or_malformed_date_is_401() {
    let sim = Sim::start().await;
    let body = json!({"type": "RECURRING"});
    for date in [date_at(-301), date_at(301)] {
        let problem = assert_problem(&sim.post_at("/payment_account", &body, &date).await, 401);
        assert!(problem["detail"].as_str().unwrap().contains("Date"));
    }
    // Inside the default 300 s skew.
    assert_eq!(
        sim.post_at("/payment_account", &body, &date_at(-250))
            .await
            .status,
        201
    );

    let rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    assert_problem(&sim.post_at("/payment_account", &body, rfc850).await, 401);
    let no_date = sim
        .http
        .post(sim.url("/payment_account"))
        .header("Authorization", format!("CertiTrade m{MERCHANT}:00"))
        .body("{}");
    let problem = assert_problem(&read(no_date.send().await.unwrap()).await, 401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Date header is missing")
    );
}

#[tokio::test]
async fn failed_auth_on_payments_is_logged_unauthorized() {
    let sim = Sim::start().await;
    let body = serde_json::to_vec(&charge_body("1", "r", 1000)).unwrap();
    let req = sim.signed(Method::POST, "/payment", &body, &now_date(), "wrong");
    assert_eq!(read(req.send().await.unwrap()).await.status, 403);
    let requests = sim.sim_get("/requests").await;
    assert_eq!(requests[0]["result"], "unauthorized");
    assert_eq!(requests[0]["http_status"], 403);
    assert_eq!(requests[0]["reference"], "r");
}
