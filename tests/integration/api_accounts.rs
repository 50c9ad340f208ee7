//! /v1/accounts over real HTTP.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn accounts_are_registered_read_listed_suspended_and_reinitialized() {
    let mut h = Harness::start().await;
    let api = h.serve_api();

    // Card details are tokenized at the gateway; nothing of the card but its mask comes back.
    let created = api
        .post(
            "/v1/accounts",
            json!({"gateway": "payroc", "processing_terminal_id": "3204001",
            "card": {"number": CARD_OK, "expiry": "1230", "cvv": "737", "holder": "Ada"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let text = created.body.to_string();
    // The CVV as a JSON value ("737", quoted): bare digits can occur in ids and tokens.
    assert!(
        !text.contains(CARD_OK) && !text.contains("\"737\"") && !text.contains("cvv"),
        "{text}"
    );
    assert_eq!(created.body["card_masked"], "453985******7062");
    assert!(
        created.body["token_masked"]
            .as_str()
            .unwrap()
            .starts_with("****")
    );
    assert_eq!(created.body["state"], "active");
    let id = created.body["id"].as_str().unwrap().to_owned();

    // An existing token. A series is no longer the account's: it goes with a subscription.
    let with_series = json!({"gateway": "payroc", "processing_terminal_id": "3204001",
        "secure_token": {"token": "296753123456", "secure_token_id": "cust-42", "card_expiry": "0131"},
        "series": {"payment_id": "PAY1", "scheme_reference": "SCHEME1"}});
    let refused = api.post("/v1/accounts", with_series).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("POST /v1/subscriptions"),
        "{}",
        refused.body
    );
    let existing = api
        .post("/v1/accounts", json!({"gateway": "payroc", "processing_terminal_id": "3204001",
            "secure_token": {"token": "296753123456", "secure_token_id": "cust-42", "card_expiry": "0131"}}))
        .await;
    assert_eq!(existing.status, 201, "{}", existing.body);
    assert!(existing.body.get("series").is_none(), "{}", existing.body);
    assert_eq!(existing.body["token_masked"], "****3456");

    let got = api.get(&format!("/v1/accounts/{id}")).await;
    assert_eq!(
        (got.status, got.body["id"].as_str()),
        (200, Some(id.as_str()))
    );
    assert_eq!(got.body["history"], json!([]));

    // Pagination: three accounts, two per page.
    api.account(CARD_OK).await;
    let page1 = api.get("/v1/accounts?limit=2").await;
    assert_eq!(page1.body["data"].as_array().unwrap().len(), 2);
    let cursor = page1.body["next_cursor"].as_str().unwrap().to_owned();
    let page2 = api
        .get(&format!("/v1/accounts?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page2.body["data"].as_array().unwrap().len(), 1);
    assert!(page2.body.get("next_cursor").is_none());
    let mut ids: Vec<String> = [&page1, &page2]
        .iter()
        .flat_map(|p| {
            p.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    // Suspend by the merchant: subscriptions held; then re-initialize with a new card.
    let sub = api.monthly(&id, 1000, "2027-01-01T00:00:00").await;
    let suspended = api
        .post(
            &format!("/v1/accounts/{id}/suspend"),
            json!({"reason": "customer asked"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.body["state"], "suspended");
    assert!(
        suspended.body["reinitialization"]["needed"]
            .as_str()
            .unwrap()
            .contains("secure token")
    );
    let s = api
        .get(&format!(
            "/v1/subscriptions/{}",
            sub["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s.body["status"], "held");
    assert_eq!(
        api.get("/v1/accounts?state=suspended").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let again = api
        .post(
            &format!("/v1/accounts/{id}/suspend"),
            json!({"reason": "twice"}),
        )
        .await;
    assert_problem(&again, 409, "");

    let back = api
        .post(&format!("/v1/accounts/{id}/reinitialize"),
            json!({"card": {"number": "5001650000000000", "expiry": "1231"}, "refused_cycles": "skip"}))
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["state"], "active");
    assert_eq!(back.body["card_masked"], "500165******0000");
    let kinds: Vec<_> = back.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [json!("account.suspended"), json!("account.reactivated")]
    );
    let s = api
        .get(&format!(
            "/v1/subscriptions/{}",
            sub["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s.body["status"], "active");
    // Active again: a new token is a card update; the card already stored is refused.
    let card_update = json!({"secure_token": {"token": "296753000001"}});
    let path = format!("/v1/accounts/{id}/reinitialize");
    let updated = api.post(&path, card_update.clone()).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_problem(&api.post(&path, card_update).await, 409, "");
}

#[tokio::test]
async fn bad_account_requests_are_4xx_naming_the_field_and_store_nothing() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let base = || json!({"gateway": "payroc", "processing_terminal_id": "3204001"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    let cases = [
        (with("gateway", json!("stripe")), 422, "gateway"),
        (base(), 422, "secure_token"),
        (
            with("card", json!({"number": "4111", "expiry": "1230"})),
            422,
            "card.number",
        ),
        (
            with("card", json!({"number": CARD_OK, "expiry": "1330"})),
            422,
            "card.expiry",
        ),
        (
            with(
                "card",
                json!({"number": CARD_OK, "expiry": "1230", "pin": "1"}),
            ),
            422,
            "card.pin",
        ),
        (
            with("secure_token", json!({"token": ""})),
            422,
            "secure_token.token",
        ),
        (with("colour", json!("blue")), 422, "colour"),
        (json!({"gateway": 7}), 422, "gateway"),
    ];
    for (body, status, field) in cases {
        let a = api.post("/v1/accounts", body.clone()).await;
        assert_problem(&a, status, field);
        assert!(
            !a.body.to_string().contains(CARD_OK),
            "card number echoed: {}",
            a.body
        );
    }
    // The gateway refuses a Luhn-invalid card: its words, as a 422 on the card.
    let refused = api
        .post(
            "/v1/accounts",
            with(
                "card",
                json!({"number": "4539858876047063", "expiry": "1230"}),
            ),
        )
        .await;
    assert_problem(&refused, 422, "card");

    let malformed = api
        .http
        .post(format!("{}/v1/accounts", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"gateway\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let not_json = api
        .http
        .post(format!("{}/v1/accounts", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .body("gateway=payroc")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    assert_problem(
        &api.get("/v1/accounts/0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11")
            .await,
        404,
        "",
    );
    assert_problem(&api.get("/v1/accounts/not-a-uuid").await, 404, "");
    assert_problem(&api.get("/v1/accounts?limit=0").await, 422, "limit");
    assert_problem(&api.get("/v1/accounts?cursor=garbage").await, 422, "cursor");
    assert_problem(&api.get("/v1/accounts?state=sleepy").await, 422, "state");
    let none = api.get("/v1/accounts").await;
    assert_eq!(none.body["data"], json!([]), "nothing was stored");
}
