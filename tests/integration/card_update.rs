//! A card update (issue 12, part 3): an active account given a new secure token re-bills each
//! subscription's failed cycle once, on the new card, as a new attempt, and the past-due
//! subscription is active again. A replay, or a second card update, bills nothing more.

use reqwest::Method;
use serde_json::{Value, json};

use crate::recovery::{no_auto_retries, only_charge};
use crate::support::*;

async fn status(api: &Api, sub: &Value) -> Value {
    let id = sub["id"].as_str().unwrap();
    api.get(&format!("/v1/subscriptions/{id}")).await.body["status"].clone()
}

/// A new secure token for a card, made at the simulator, as the API body gives it.
async fn new_token(h: &Harness, card: &str) -> (String, Value) {
    let cred = h.tokenize(card).await;
    let token = cred.credential.secret().unwrap().to_owned();
    let body = json!({"token": token, "card_masked": "453985******7062", "card_expiry": "1230"});
    (token, body)
}

/// An account whose first sale is declined (…0051's token: 51 twice), its subscription past
/// due with the failed cycle 1.
async fn past_due(h: &Harness, api: &Api) -> (String, Value) {
    let account = api.account(CARD_SOFT_TWICE).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00").await;
    h.run().await;
    assert_eq!(only_charge(api, &sub).await["status"], "failed");
    assert_eq!(status(api, &sub).await, "past_due");
    (account, sub)
}

#[tokio::test]
async fn a_failed_cycle_is_rebilled_exactly_once_after_a_card_update() {
    let (h, api) = no_auto_retries().await;
    let (account, sub) = past_due(&h, &api).await;
    let (token, given) = new_token(&h, CARD_OK).await;
    let path = format!("/v1/accounts/{account}/reinitialize");
    let body = json!({"secure_token": given});
    let updated = api
        .send(
            Method::POST,
            &path,
            Some(body.clone()),
            Some("card-update-1"),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["state"], "active");
    let history = updated.body["history"].as_array().unwrap();
    let event = history.last().unwrap();
    assert_eq!(event["kind"], "account.card_updated", "{history:#?}");
    let charge = only_charge(&api, &sub).await;
    assert_eq!(
        event["detail"]["failed_cycles"]["rebilled"],
        json!([charge["id"]])
    );
    assert_eq!(
        (&charge["status"], &charge["attempt_no"]),
        (&json!("due"), &json!(2))
    );
    assert_eq!(status(&api, &sub).await, "active");

    // The same request replayed under its key changes nothing.
    let replayed = api
        .send(Method::POST, &path, Some(body), Some("card-update-1"))
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");

    assert_eq!(h.run().await.approved, 1);
    let paid = only_charge(&api, &sub).await;
    assert_eq!(
        (&paid["status"], &paid["attempt_no"]),
        (&json!("approved"), &json!(2))
    );

    // A second card update finds nothing failed: nothing is billed again.
    let (_, another) = new_token(&h, CARD_OK).await;
    let second = api.post(&path, json!({"secure_token": another})).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let event = second.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(event["detail"]["failed_cycles"]["rebilled"], json!([]));
    h.run().await;

    // Cycle 1 went out twice in all: declined on the old card, approved once on the new one,
    // each a sale of its own (a new orderId).
    let requests = h.requests().await;
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_ne!(requests[0]["orderId"], requests[1]["orderId"]);
    assert_eq!(h.requests_for_token(&token).await, 1);
    assert_eq!(h.ledger().await.len(), 1, "paid once");
}

#[tokio::test]
async fn a_card_update_can_leave_the_failed_cycle_and_refuses_the_same_card() {
    let (h, api) = no_auto_retries().await;
    let (account, sub) = past_due(&h, &api).await;
    let (_, given) = new_token(&h, CARD_OK).await;
    let path = format!("/v1/accounts/{account}/reinitialize");
    let body = json!({"secure_token": given, "failed_cycle": "leave"});
    let updated = api.post(&path, body.clone()).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(only_charge(&api, &sub).await["status"], "failed");
    assert_eq!(status(&api, &sub).await, "active", "billing goes on");
    h.run().await;
    assert_eq!(
        h.requests().await.len(),
        1,
        "the failed cycle is not billed"
    );

    // The card already stored is not a card update.
    let again = api.post(&path, body).await;
    assert_problem(&again, 409, "");
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains("already holds this card"),
        "{}",
        again.body
    );
    // Words of a suspended account's re-initialization are refused on an active one.
    let wrong = api
        .post(
            &path,
            json!({"secure_token": {"token": "x1"}, "refused_cycles": "skip"}),
        )
        .await;
    assert_problem(&wrong, 422, "refused_cycles");
}

/// Polls (real time) until the account's history ends with `kind`: CertiTrade's callback comes
/// on its own.
async fn wait_for_history(api: &Api, id: &str, kind: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let a = api.get(&format!("/v1/accounts/{id}")).await.body;
        if a["history"].as_array().unwrap().last().unwrap()["kind"] == kind {
            return a;
        }
        assert!(std::time::Instant::now() < deadline, "no {kind}: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certitrade_reinitialization_of_an_active_account_rebills_the_failed_cycle_once() {
    use crate::certitrade::{customer_opens, sim_list, wait_for_state};
    let mut h = Harness::certitrade(|s| {
        s.billing.soft_decline_retries = vec![];
        s.dunning.codes.clear();
    })
    .await;
    let api = h.serve_api();
    let created = api
        .post("/v1/accounts", json!({"gateway": "certitrade"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let link = created.body["initialization"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    customer_opens(&h, &link, "123456789000").await;
    let account = wait_for_state(&api, &id, "active").await;
    // The issuer starts declining the card (…9001: Do Not Honor).
    let payment_account = account["certitrade_payment_account_id"].as_str().unwrap();
    let swapped = h
        .http
        .post(format!(
            "{}/_sim/certitrade/accounts/{payment_account}/card",
            h.sim.base_url()
        ))
        .json(&json!({"card": "123456789001"}))
        .send()
        .await
        .unwrap();
    assert!(swapped.status().is_success(), "{}", swapped.status());
    let sub = api.monthly(&id, 1000, "2027-01-01T00:00:00").await;
    h.run().await;
    assert_eq!(status(&api, &sub).await, "past_due");

    // The customer registers a new card at the link of the card update.
    let asked = api
        .post(&format!("/v1/accounts/{id}/reinitialize"), json!({}))
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let relink = asked.body["initialization"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    customer_opens(&h, &relink, "123456789000").await;
    let updated = wait_for_history(&api, &id, "account.card_updated").await;
    let event = updated["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let charge = only_charge(&api, &sub).await;
    assert_eq!(
        event["detail"]["failed_cycles"]["rebilled"],
        json!([charge["id"]])
    );
    assert_eq!(status(&api, &sub).await, "active");

    assert_eq!(h.run().await.approved, 1);
    // Another card update: nothing failed, nothing billed.
    let again = api
        .post(&format!("/v1/accounts/{id}/reinitialize"), json!({}))
        .await;
    let relink = again.body["initialization"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    customer_opens(&h, &relink, "123456789000").await;
    let updated = wait_for_history(&api, &id, "account.card_updated").await;
    let events = updated["history"].as_array().unwrap();
    let last = &events[events.len() - 1];
    assert_eq!(
        last["detail"]["failed_cycles"]["rebilled"],
        json!([]),
        "{last}"
    );
    h.run().await;

    let charges: Vec<Value> = sim_list(&h, "requests")
        .await
        .into_iter()
        .filter(|r| r["payment_account"] == payment_account && r["amount"] == 1000)
        .collect();
    assert_eq!(
        charges.len(),
        2,
        "declined once, re-billed once: {charges:#?}"
    );
    let paid = only_charge(&api, &sub).await;
    assert_eq!(
        (&paid["status"], &paid["attempt_no"]),
        (&json!("approved"), &json!(2))
    );
}

#[tokio::test]
async fn card_details_for_an_active_account_are_tokenized_and_rebill_the_failed_cycle_once() {
    let (h, api) = no_auto_retries().await;
    let (account, sub) = past_due(&h, &api).await;
    let path = format!("/v1/accounts/{account}/reinitialize");
    let body = json!({"card": {"number": CARD_OK, "expiry": "1230", "cvv": "123"}});
    let updated = api
        .send(
            Method::POST,
            &path,
            Some(body.clone()),
            Some("card-details-1"),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["card_masked"], "453985******7062");
    let event = updated.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(event["kind"], "account.card_updated", "{event}");
    assert_eq!(event["detail"]["failed_cycle_policy"], "charge");
    let charge = only_charge(&api, &sub).await;
    assert_eq!(
        event["detail"]["failed_cycles"]["rebilled"],
        json!([charge["id"]])
    );
    assert_eq!(status(&api, &sub).await, "active");
    // The same call again is replayed, not tokenized and billed again.
    let replayed = api
        .send(Method::POST, &path, Some(body), Some("card-details-1"))
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert_eq!(h.run().await.approved, 1);
    assert_eq!(h.requests().await.len(), 2, "declined once, re-billed once");
    assert_eq!(h.ledger().await.len(), 1);
}
