//! No half-made accounts: a registration step whose answer was lost (a 500, a dropped
//! connection) is settled — by the daemon's next run, or by the merchant's retry of the API call
//! with the same Idempotency-Key — on the same account, with one payment_account and one
//! initializing payment at the gateway.

use crate::certitrade::{customer_opens, sim_list, wait_for_state};
use crate::support::*;
use serde_json::{Value, json};

const GOOD_CARD: &str = "123456789000";

async fn arm(h: &Harness, plan: Value) {
    h.sim_post("/_sim/certitrade/faults", plan).await;
}

async fn register(api: &Api, key: &str) -> Answer {
    api.send(
        reqwest::Method::POST,
        "/v1/accounts",
        Some(json!({"gateway": "certitrade"})),
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

/// The `result` of every `POST /payment` the simulator received.
async fn payment_results(h: &Harness) -> Vec<String> {
    sim_list(h, "requests")
        .await
        .iter()
        .map(|r| r["result"].as_str().unwrap().to_owned())
        .collect()
}

/// A 202 naming the owed step, the account stored without a link.
fn assert_pending(answer: &Answer, step: &str) -> String {
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["state"], "initializing");
    assert_eq!(answer.body["registration"]["pending_step"], step);
    assert!(answer.body["initialization"].is_null(), "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_the_initializing_payment_is_completed_by_the_daemon() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    arm(&h, json!({"fail_next": 1})).await;

    let first = register(&api, "reg-daemon").await;
    let id = assert_pending(&first, "initializing_payment");
    assert!(first.body["certitrade_payment_account_id"].is_string());
    assert!(
        kinds(&first.body).contains(&"account.registration_step_unknown".to_owned()),
        "{}",
        first.body
    );

    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert!(account["registration"].is_null(), "{account}");
    let link = account["initialization"]["link"]
        .as_str()
        .unwrap_or_else(|| panic!("the daemon completed the registration: {account}"))
        .to_owned();
    assert!(kinds(&account).contains(&"account.initialization_requested".to_owned()));

    customer_opens(&h, &link, GOOD_CARD).await;
    let active = wait_for_state(&api, &id, "active").await;
    assert!(kinds(&active).contains(&"account.initialized".to_owned()));
    assert_eq!(sim_list(&h, "accounts").await.len(), 1);
    assert_eq!(payment_results(&h).await, ["server_error", "created"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_idempotency_key_continues_the_same_account() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    arm(&h, json!({"fail_next": 1})).await;

    let first = register(&api, "reg-retry").await;
    let id = assert_pending(&first, "initializing_payment");
    let retry = register(&api, "reg-retry").await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["id"], id.as_str(), "the same account continued");
    assert!(retry.body["registration"].is_null());
    assert!(retry.body["initialization"]["link"].is_string());
    let again = register(&api, "reg-retry").await;
    assert_eq!((again.status, &again.body), (201, &retry.body));
    assert_eq!(again.headers["idempotent-replayed"], "true");

    assert_eq!(sim_list(&h, "accounts").await.len(), 1);
    assert_eq!(payment_results(&h).await, ["server_error", "created"]);
    let accounts = api.get("/v1/accounts").await.body;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 1, "{accounts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_payment_account_answer_is_resent_and_makes_one_account() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    arm(&h, json!({"account_drop_next": 1})).await;

    let first = register(&api, "reg-account").await;
    let id = assert_pending(&first, "gateway_account");
    assert!(first.body["certitrade_payment_account_id"].is_null());

    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    assert!(account["initialization"]["link"].is_string(), "{account}");
    let made = sim_list(&h, "accounts").await;
    assert_eq!(made.len(), 1, "the resend was recognized: {made:?}");
    assert_eq!(account["certitrade_payment_account_id"], made[0]["id"]);
    assert_eq!(payment_results(&h).await, ["created"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initializing_payment_whose_answer_stayed_lost_is_found_by_its_reference() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    arm(&h, json!({"drop_next": 1})).await;

    let first = register(&api, "reg-lookup").await;
    let id = assert_pending(&first, "initializing_payment");
    // Past twice the resend window: CertiTrade can no longer be processing it, and a resend
    // would not be recognized; the payment is looked up instead of made again.
    let window = h.app.settings.certitrade.resend_window.signed();
    h.clock
        .advance(window * 2 + jiff::SignedDuration::from_secs(1));
    h.run().await;
    let account = api.get(&format!("/v1/accounts/{id}")).await.body;
    let link = account["initialization"]["link"]
        .as_str()
        .unwrap_or_else(|| panic!("found by its reference: {account}"))
        .to_owned();
    assert_eq!(payment_results(&h).await, ["dropped"], "no second payment");
    customer_opens(&h, &link, GOOD_CARD).await;
    wait_for_state(&api, &id, "active").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinitialization_retried_with_the_same_key_makes_one_initializing_payment() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    let created = register(&api, "reg-ok").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let link = created.body["initialization"]["link"].as_str().unwrap();
    customer_opens(&h, link, GOOD_CARD).await;
    wait_for_state(&api, &id, "active").await;
    let suspended = api
        .post(
            &format!("/v1/accounts/{id}/suspend"),
            json!({"reason": "customer asked"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);

    arm(&h, json!({"fail_next": 1})).await;
    let path = format!("/v1/accounts/{id}/reinitialize");
    let reinit =
        |key: &'static str| api.send(reqwest::Method::POST, &path, Some(json!({})), Some(key));
    let first = reinit("reinit-1").await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["state"], "suspended");
    assert_eq!(
        first.body["registration"]["pending_step"],
        "initializing_payment"
    );
    let retry = reinit("reinit-1").await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let relink = retry.body["initialization"]["link"].as_str().unwrap();
    customer_opens(&h, relink, GOOD_CARD).await;
    wait_for_state(&api, &id, "active").await;
    assert_eq!(
        payment_results(&h).await,
        ["created", "server_error", "created"]
    );
}
