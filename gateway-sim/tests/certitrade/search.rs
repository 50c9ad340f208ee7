use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn search_by_reference_finds_only_that_payment() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let wanted = new_reference();
    let p = sim
        .post("/payment", &charge_body(&account, &wanted, 1200))
        .await
        .json();
    sim.charge(&account, 1300).await;

    let path = format!("/payment?reference={wanted}");
    let resp = sim.get(&path).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.content_type, "application/hal+json");
    let found = resp.json();
    assert_eq!(found["count"], 1);
    assert_eq!(found["total_size"], "1");
    assert_eq!(found["_embedded"]["payment"][0], p);
    assert_eq!(found["_links"]["self"]["href"], sim.url(&path));

    let none = sim.get("/payment?reference=nope").await.json();
    assert_eq!(none["count"], 0);
    assert_eq!(none["_embedded"]["payment"], json!([]));
    let by_account = sim
        .get(&format!(
            "/payment?payment_account={account}&state=READY_FOR_CAPTURE"
        ))
        .await;
    assert_eq!(by_account.json()["count"], 3, "initializing + two charges");
}

#[tokio::test]
async fn retrieve_by_id() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let p = sim.charge(&account, 1000).await.json();
    let id = p["id"].as_str().unwrap();
    let read_back = sim.get(&format!("/payment/{id}")).await;
    assert_eq!(read_back.status, 200);
    assert_eq!(read_back.json(), p);
    let missing = sim.get("/payment/1").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.content_type, "application/api-problem+json");
}

#[tokio::test]
async fn lenient_parsing_and_field_errors() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    // Amount, message_id and account id as numbers; unknown fields ignored.
    let body = json!({
        "amount": 1000, "currency": "SEK", "method": "RECURRING", "reference": new_reference(),
        "message_id": 3, "future_field": {"x": 1},
        "data": {"RECURRING": {"payment_account": account.parse::<u64>().unwrap(), "initialize": 0}},
    });
    let resp = sim.post("/payment", &body).await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let p = resp.json();
    assert_eq!(p["amount"], "1000");
    assert_eq!(p["payment_account"], account.as_str());

    let bad = json!({"amount": "ten", "currency": "SEK", "method": "CARD", "reference": "r",
                     "data": {"RECURRING": {"payment_account": account}}});
    let problem = sim.post("/payment", &bad).await;
    assert_eq!(problem.status, 400);
    assert_eq!(problem.content_type, "application/api-problem+json");
    let detail = problem.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("amount") && detail.contains("method"),
        "{detail}"
    );

    let not_json = sim.signed(
        reqwest::Method::POST,
        "/payment",
        b"{nope",
        &now_date(),
        API_KEY,
    );
    let resp = read(not_json.send().await.unwrap()).await;
    assert_eq!(resp.status, 400);
    assert!(resp.json()["detail"].as_str().unwrap().contains("JSON"));
}
