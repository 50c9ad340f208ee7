//! API writes racing billing runs: each race has one defined outcome.
//! - Pause or cancel while a charge is in flight: the request already written down is completed
//!   under its key (money may already have moved) and recorded; nothing new is billed after.
//! - An amount change racing the cycle falling due: the cycle carries the old or the new amount
//!   (whichever committed first, as the API answer says), every later cycle the new one.

use crate::support::*;
use gateway_sim::SimConfig;
use serde_json::json;
use std::time::Duration;

async fn slow_harness() -> Harness {
    let sim = SimConfig {
        slow_delay: Duration::from_millis(1500),
        ..SimConfig::default()
    };
    Harness::with(sim, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_or_cancelling_while_a_charge_is_in_flight_completes_that_charge_and_bills_nothing_more()
 {
    for action in ["pause", "cancel"] {
        let mut h = slow_harness().await;
        let api = h.serve_api();
        let account = api.account(CARD_OK).await;
        let sub = api.monthly(&account, 1097, "2027-01-01T00:00:00").await; // …97: slow answer
        let id = sub["id"].as_str().unwrap().to_owned();
        h.clock.set(ts("2027-01-01T00:00:00Z"));
        let billing = h.app.billing.clone();
        let now = h.now();
        let run = tokio::spawn(async move { billing.run_once(now).await });
        tokio::time::sleep(Duration::from_millis(400)).await;
        let changed = api
            .post(&format!("/v1/subscriptions/{id}/{action}"), json!({}))
            .await;
        assert_eq!(changed.status, 200, "{action}: {}", changed.body);
        let summary = run.await.unwrap().unwrap();
        assert_eq!(
            summary.approved, 1,
            "{action}: the in-flight charge completed: {summary:?}"
        );

        let charges = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
        assert_eq!(charges.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(charges.body["data"][0]["status"], "approved");
        let status = api.get(&format!("/v1/subscriptions/{id}")).await.body["status"].clone();
        assert_eq!(
            status,
            if action == "pause" {
                "paused"
            } else {
                "cancelled"
            }
        );

        h.clock.set(ts("2027-04-15T00:00:00Z"));
        assert_eq!(h.run().await.sent, 0, "{action}: nothing more is billed");
        assert_eq!(h.ledger().await.len(), 1);
    }
}

#[tokio::test]
async fn a_charge_that_may_be_at_the_gateway_is_settled_after_a_cancel_under_its_own_key() {
    let mut h = Harness::with(SimConfig::default(), |s| s.billing.unknown_resends = 0).await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1096, "2027-01-01T00:00:00").await; // …96: a 500 first
    let id = sub["id"].as_str().unwrap();
    assert_eq!(h.run().await.unknown, 1);
    let cancelled = api
        .post(&format!("/v1/subscriptions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    h.clock.advance(jiff::SignedDuration::from_mins(2));
    h.run().await;
    let charge = &api
        .get(&format!("/v1/subscriptions/{id}/charges"))
        .await
        .body["data"][0];
    assert_eq!(
        charge["status"], "approved",
        "settled, not dropped: {charge}"
    );
    let detail = api
        .get(&format!("/v1/charges/{}", charge["id"].as_str().unwrap()))
        .await;
    let keys: Vec<_> = detail.body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["idempotency_key"].clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn an_amount_change_applies_to_the_cycles_not_yet_due() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let before = api.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    let after = api.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    h.clock.set(ts("2027-01-01T00:00:00Z"));
    // Changed at the very moment the cycle falls due, before the tick: that cycle pays it.
    api.patch(
        &format!("/v1/subscriptions/{}", before["id"].as_str().unwrap()),
        json!({"amount": 1200}),
    )
    .await;
    h.run().await;
    // Changed just after the tick: that cycle keeps the old amount, the next one pays the new.
    api.patch(
        &format!("/v1/subscriptions/{}", after["id"].as_str().unwrap()),
        json!({"amount": 1200}),
    )
    .await;
    h.clock.set(ts("2027-02-01T00:00:00Z"));
    h.run().await;
    let amounts = |sub: serde_json::Value| {
        let api = &api;
        async move {
            let c = api
                .get(&format!(
                    "/v1/subscriptions/{}/charges",
                    sub["id"].as_str().unwrap()
                ))
                .await;
            c.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["amount"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(amounts(before).await, [1200, 1200]);
    assert_eq!(amounts(after).await, [1000, 1200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amount_changes_racing_a_billing_run_leave_every_charge_whole() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(
            api.monthly(&account, 1000, "2027-01-01T00:00:00").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    h.clock.set(ts("2027-01-01T00:00:00Z"));
    let billing = h.app.billing.clone();
    let now = h.now();
    let run = tokio::spawn(async move { billing.run_once(now).await });
    for id in &ids {
        let r = api
            .patch(&format!("/v1/subscriptions/{id}"), json!({"amount": 1300}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    run.await.unwrap().unwrap();
    h.run().await; // whatever the racing run skipped while a row was locked
    h.clock.set(ts("2027-02-01T00:00:00Z"));
    h.run().await;
    for id in &ids {
        let sub = api.get(&format!("/v1/subscriptions/{id}")).await;
        assert_eq!(sub.body["amount"], 1300);
        let charges = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
        let list = charges.body["data"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{id}: one charge per cycle");
        assert!(
            matches!(list[0]["amount"].as_i64(), Some(1000) | Some(1300)),
            "{}",
            list[0]
        );
        assert_eq!(
            list[1]["amount"], 1300,
            "every later cycle has the new amount"
        );
        assert!(list.iter().all(|c| c["status"] == "approved"));
    }
    assert_eq!(h.ledger().await.len(), 80);
}
