//! CertiTrade end to end against the simulator: registration through the payment window,
//! monthly RECURRING charges, a card the fraud system terminates, re-initialization on the same
//! payment_account, and charging resumed with the refused cycle charged once.

use crate::support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const GOOD_CARD: &str = "123456789000";
const FRAUD_CARD: &str = "1123450000000002";

/// The customer opens the payment window link with their card.
pub(crate) async fn customer_opens(h: &Harness, link: &str, card: &str) {
    let r = h
        .http
        .get(format!("{link}?card={card}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "paywin answered {}", r.status());
}

/// Waits (real time) until the account reaches `state` — the callback arrives asynchronously.
pub(crate) async fn wait_for_state(api: &Api, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = api.get(&format!("/v1/accounts/{id}")).await.body;
        if a["state"] == state {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "account never became {state}: {a}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn sim_list(h: &Harness, what: &str) -> Vec<Value> {
    h.http
        .get(format!("{}/_sim/certitrade/{what}", h.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn register(api: &Api) -> (String, String) {
    let created = api
        .post("/v1/accounts", json!({"gateway": "certitrade"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["state"], "initializing");
    let link = created.body["initialization"]["link"]
        .as_str()
        .expect("a paywin link")
        .to_owned();
    (created.body["id"].as_str().unwrap().to_owned(), link)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certitrade_registration_charges_termination_and_reinitialization() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();

    // Register two customers: one with a good card, one whose card the fraud system will stop.
    let (good, good_link) = register(&api).await;
    let (fraud, fraud_link) = register(&api).await;
    let good_sub = api.monthly(&good, 4900, "2027-01-01T00:00:00").await;
    let fraud_sub = api.monthly(&fraud, 2900, "2027-01-01T00:00:00").await;
    assert_eq!(
        h.run().await.sent,
        0,
        "nothing is charged before the card is registered"
    );

    customer_opens(&h, &good_link, GOOD_CARD).await;
    customer_opens(&h, &fraud_link, FRAUD_CARD).await;
    let registered = wait_for_state(&api, &good, "active").await;
    assert!(registered["initialization"].is_null());
    wait_for_state(&api, &fraud, "active").await;
    let kinds: Vec<Value> = registered["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("account.initialization_requested"),
            json!("account.initialized")
        ]
    );

    // January: the good card is charged; the fraud card's first RECURRING charge is refused
    // as fraud and its account suspended, with a re-initialization requested at once.
    let jan = h.run().await;
    assert_eq!((jan.approved, jan.suspended), (1, 1), "{jan:?}");
    let suspended = api.get(&format!("/v1/accounts/{fraud}")).await.body;
    assert_eq!(suspended["state"], "suspended");
    assert!(
        suspended["suspension_reason"]
            .as_str()
            .unwrap()
            .contains("43"),
        "{suspended}"
    );
    let relink = suspended["initialization"]["link"]
        .as_str()
        .expect("a new paywin link")
        .to_owned();
    assert_ne!(relink, fraud_link);
    let fraud_sub_id = fraud_sub["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{fraud_sub_id}"))
            .await
            .body["status"],
        "held"
    );

    // February and March: the good card is charged; the suspended account is not contacted.
    let fraud_account = suspended["certitrade_payment_account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = sim_list(&h, "requests")
        .await
        .iter()
        .filter(|r| r["payment_account"] == fraud_account.as_str())
        .count();
    h.clock.set(ts("2027-03-15T00:00:00Z"));
    assert_eq!(h.run().await.approved, 2);
    let after = sim_list(&h, "requests")
        .await
        .iter()
        .filter(|r| r["payment_account"] == fraud_account.as_str())
        .count();
    assert_eq!(before, after, "no request for the suspended account");

    // The customer re-initializes with another card on the same payment_account.
    customer_opens(&h, &relink, GOOD_CARD).await;
    let back = wait_for_state(&api, &fraud, "active").await;
    assert_eq!(
        back["certitrade_payment_account_id"],
        fraud_account.as_str(),
        "the same payment_account"
    );
    let kinds: Vec<Value> = back["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(
        kinds.ends_with(&[
            json!("account.suspended"),
            json!("account.reinitialization_requested"),
            json!("account.reactivated")
        ]),
        "{kinds:?}"
    );

    // Charging resumes: the refused January once more, then February and March.
    let resumed = h.run().await;
    assert_eq!(resumed.approved, 3, "{resumed:?}");
    let charges = api
        .get(&format!("/v1/subscriptions/{fraud_sub_id}/charges"))
        .await
        .body;
    let list = charges["data"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|c| c["status"] == "approved"), "{charges}");
    assert_eq!(
        list[0]["attempt_no"], 2,
        "January: refused once, charged once more under a new key"
    );

    // At the gateway: every approved RECURRING charge once, by its unique reference.
    let ledger = sim_list(&h, "ledger").await;
    let recurring: Vec<&Value> = ledger
        .iter()
        .filter(|e| e["initializing"] == false)
        .collect();
    assert_eq!(recurring.len(), 6, "3 for each customer");
    let mut references: Vec<&str> = recurring
        .iter()
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), 6, "none twice");
    let good_charges = api
        .get(&format!(
            "/v1/subscriptions/{}/charges",
            good_sub["id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(good_charges["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_initialization_without_callback_is_found_by_polling() {
    let mut h = Harness::certitrade(|s| {
        s.certitrade.poll_initializing_after = billingd::config::Delay::secs(60)
    })
    .await;
    let api = h.serve_api();
    let (id, link) = register(&api).await;
    let payment_id = link.rsplit('/').next().unwrap().to_owned();
    let r = h
        .http
        .post(format!(
            "{}/_sim/certitrade/paywin/{payment_id}",
            h.sim.base_url()
        ))
        .json(&json!({"card": GOOD_CARD, "send_callback": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    h.run().await;
    assert_eq!(
        api.get(&format!("/v1/accounts/{id}")).await.body["state"],
        "initializing",
        "not polled before a minute"
    );
    h.clock.advance(jiff::SignedDuration::from_mins(2));
    h.run().await;
    assert_eq!(
        api.get(&format!("/v1/accounts/{id}")).await.body["state"],
        "active"
    );
}

#[tokio::test]
async fn a_callback_with_a_wrong_code_is_refused_and_changes_nothing() {
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    let (id, link) = register(&api).await;
    let payment_id = link.rsplit('/').next().unwrap().to_owned();
    let r = h
        .http
        .post(format!("{}/certitrade/callback", api.base))
        .form(&[
            ("paymentid", payment_id.as_str()),
            ("merchantid", "1234"),
            ("function", "APPROVE"),
            ("description", "0000"),
            ("timestamp", "20270101000000"),
            ("sha256code", &"0".repeat(64)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        api.get(&format!("/v1/accounts/{id}")).await.body["state"],
        "initializing"
    );
    assert_problem(
        &api.post(
            &format!("/v1/accounts/{id}/reinitialize"),
            json!({"card": {"number": GOOD_CARD, "expiry": "1230"}}),
        )
        .await,
        422,
        "card",
    );
}

/// Registers a CertiTrade account with a good card and returns its id.
async fn active_account(h: &Harness, api: &Api) -> String {
    let (id, link) = register(api).await;
    customer_opens(h, &link, GOOD_CARD).await;
    wait_for_state(api, &id, "active").await;
    id
}

async fn sim_requests_for(h: &Harness, reference: &str) -> Vec<Value> {
    sim_list(h, "requests")
        .await
        .into_iter()
        .filter(|r| r["reference"] == reference)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_certitrade_outcomes_are_resent_with_the_same_date_and_message_id_and_charged_once()
{
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    let account = active_account(&h, &api).await;
    let dropped = api.monthly(&account, 4999, "2027-01-01T00:00:00").await; // …99: dropped after charging
    let failing = api.monthly(&account, 4996, "2027-01-01T00:00:00").await; // …96: a 500 first
    let summary = h.run().await;
    assert_eq!(summary.approved, 2, "{summary:?}");
    for sub in [&dropped, &failing] {
        let charge = &api
            .get(&format!(
                "/v1/subscriptions/{}/charges",
                sub["id"].as_str().unwrap()
            ))
            .await
            .body["data"][0];
        let reference = charge["order_id"].as_str().unwrap();
        let requests = sim_requests_for(&h, reference).await;
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[0]["date"], requests[1]["date"], "same Date");
        assert_eq!(
            requests[0]["message_id"], requests[1]["message_id"],
            "same message_id"
        );
        let approved = sim_list(&h, "ledger")
            .await
            .into_iter()
            .filter(|e| e["reference"] == reference)
            .count();
        assert_eq!(approved, 1, "charged once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_resend_looks_the_payment_up_by_its_reference_first() {
    // No inline resends and no resend window: the next attempt must look the payment up.
    let mut h = Harness::certitrade(|s| {
        s.billing.unknown_resends = 0;
        s.certitrade.resend_window = billingd::config::Delay::secs(0);
    })
    .await;
    let api = h.serve_api();
    let account = active_account(&h, &api).await;
    let sub = api.monthly(&account, 4999, "2027-01-01T00:00:00").await; // charged, answer dropped
    assert_eq!(h.run().await.unknown, 1);
    h.clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(h.run().await.approved, 1);
    let charge = &api
        .get(&format!(
            "/v1/subscriptions/{}/charges",
            sub["id"].as_str().unwrap()
        ))
        .await
        .body["data"][0];
    let reference = charge["order_id"].as_str().unwrap();
    assert_eq!(
        sim_requests_for(&h, reference).await.len(),
        1,
        "settled by a lookup, not a second sale"
    );
    let approved = sim_list(&h, "ledger")
        .await
        .into_iter()
        .filter(|e| e["reference"] == reference)
        .count();
    assert_eq!(approved, 1);
}
