//! No half-made Payroc accounts: a secure token whose answer was lost is found by the daemon
//! (by the secureTokenId billingd chose) or replayed by the merchant's retry with the same
//! Idempotency-Key — one token, one account; a token never made is given up, visibly, once
//! Payroc may have forgotten the key.

use crate::support::*;
use billingd::config::Delay;
use jiff::SignedDuration;
use serde_json::{Value, json};

fn card_registration() -> Value {
    json!({"gateway": "payroc", "processing_terminal_id": "3204001",
        "card": {"number": CARD_OK, "expiry": "1230", "cvv": "123"}})
}

async fn register(api: &Api, key: &str) -> Answer {
    api.send(
        reqwest::Method::POST,
        "/v1/accounts",
        Some(card_registration()),
        Some(key),
    )
    .await
}

fn kinds(account: &Value) -> Vec<String> {
    account["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_pending(answer: &Answer) -> String {
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["state"], "initializing");
    assert_eq!(answer.body["registration"]["pending_step"], "secure_token");
    assert!(answer.body["token_masked"].is_null());
    answer.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_token_whose_answer_was_lost_is_found_by_the_daemon_and_charged() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    h.sim_post("/_sim/faults", json!({"token_drop_next": 1}))
        .await;

    let first = register(&api, "payroc-daemon").await;
    let id = assert_pending(&first);
    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert_eq!(account["state"], "active", "{account}");
    assert!(account["registration"].is_null());
    assert!(
        account["secure_token_id"]
            .as_str()
            .unwrap()
            .starts_with("billingd-")
    );
    assert_eq!(account["card_masked"], "453985******7062");
    assert!(kinds(&account).contains(&"account.registered".to_owned()));

    // The token found is the one Payroc made: the account is charged with it.
    api.monthly(&id, 2500, "2027-01-01T00:00:00").await;
    assert_eq!(h.run().await.approved, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_key_replays_the_secure_token_on_the_same_account() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    h.sim_post(
        "/_sim/faults",
        json!({"token_fail_next": 1, "token_drop_next": 1}),
    )
    .await;

    let failed = register(&api, "payroc-retry").await;
    let id = assert_pending(&failed);
    let dropped = register(&api, "payroc-retry").await;
    assert_eq!(assert_pending(&dropped), id, "the same account continued");
    let retry = register(&api, "payroc-retry").await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["id"], id.as_str());
    assert_eq!(retry.body["state"], "active");
    let token_id = retry.body["secure_token_id"].as_str().unwrap().to_owned();
    assert!(token_id.starts_with("billingd-"), "{token_id}");

    // The daemon finds nothing left to do, and there is one account.
    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert_eq!(account["secure_token_id"], token_id.as_str());
    let accounts = api.get("/v1/accounts").await.body;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 1, "{accounts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_token_never_made_is_given_up_once_payroc_may_have_forgotten_the_key() {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.payroc.idempotency_key_lifetime = Delay::secs(600);
    })
    .await;
    let api = h.serve_api();
    h.sim_post("/_sim/faults", json!({"token_fail_next": 1}))
        .await;

    let id = assert_pending(&register(&api, "payroc-never").await);
    h.run().await;
    let waiting = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert_eq!(
        waiting["registration"]["pending_step"], "secure_token",
        "not found yet is not an answer while Payroc may still act on the key: {waiting}"
    );

    h.clock.advance(SignedDuration::from_mins(11));
    h.run().await;
    let closed = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert!(closed["registration"].is_null());
    assert!(kinds(&closed).contains(&"account.registration_failed".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinitialization_whose_token_answer_was_lost_is_completed_by_the_daemon() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let id = api.account(CARD_OK).await;
    let sub = api.monthly(&id, 2500, "2027-01-01T00:00:00").await;
    let suspended = api
        .post(
            &format!("/v1/accounts/{id}/suspend"),
            json!({"reason": "card reported lost"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);

    h.sim_post("/_sim/faults", json!({"token_drop_next": 1}))
        .await;
    let path = format!("/v1/accounts/{id}/reinitialize");
    let body = json!({"card": {"number": CARD_OK, "expiry": "1231", "cvv": "321"}});
    let first = api
        .send(
            reqwest::Method::POST,
            &path,
            Some(body.clone()),
            Some("reinit-a"),
        )
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["state"], "suspended");
    assert_eq!(first.body["registration"]["pending_step"], "secure_token");
    // Another call cannot send another card under that step's key.
    let other = api
        .send(reqwest::Method::POST, &path, Some(body), Some("reinit-b"))
        .await;
    assert_eq!(other.status, 409, "{}", other.body);

    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert_eq!(account["state"], "active", "{account}");
    assert!(account["registration"].is_null());
    assert!(
        account["secure_token_id"]
            .as_str()
            .unwrap()
            .starts_with("billingd-")
    );
    assert!(kinds(&account).contains(&"account.reactivated".to_owned()));
    let sub_id = sub["id"].as_str().unwrap();
    let sub = api.get(&format!("/v1/subscriptions/{sub_id}")).await.body;
    assert_ne!(sub["status"], "held", "{sub}");
}
