//! The dunning end (issue 12, part 2): a charge declined until its retry schedule is used up
//! makes the subscription past due at once; after `dunning.grace` the billing run cancels or
//! pauses it (`dunning.end`), once, announcing it with `reason: "dunning_ended"`.

use billingd::config::Delay;
use billingd::domain::dunning_end::DunningEnd;
use jiff::SignedDuration;
use serde_json::Value;

use crate::support::*;

async fn events(api: &Api, kind: &str) -> Vec<Value> {
    let a = api.get(&format!("/v1/webhook-events?type={kind}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["data"].as_array().unwrap().clone()
}

async fn status(api: &Api, sub: &Value) -> Value {
    let id = sub["id"].as_str().unwrap();
    api.get(&format!("/v1/subscriptions/{id}")).await.body["status"].clone()
}

/// One retry an hour after the first decline, then the end after three days' grace.
async fn harness(end: DunningEnd) -> (Harness, Api) {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.soft_decline_retries = vec![Delay::secs(3600)];
        s.dunning.codes.clear();
        s.dunning.end = end;
        s.dunning.grace = if end == DunningEnd::PastDue {
            Delay::secs(0)
        } else {
            Delay::secs(3 * 86_400)
        };
    })
    .await;
    let api = h.serve_api();
    (h, api)
}

/// A subscription whose every sale is declined (…01: Do Not Honor), run until its schedule is
/// used up: two sales, past due.
async fn past_due(h: &Harness, api: &Api) -> Value {
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1001, "2027-01-01T00:00").await;
    h.run().await;
    assert_eq!(status(api, &sub).await, "active", "one retry is left");
    h.clock.advance(SignedDuration::from_hours(1));
    h.run().await;
    assert_eq!(status(api, &sub).await, "past_due");
    assert_eq!(h.requests().await.len(), 2);
    sub
}

async fn ends_after_the_grace(end: DunningEnd, to: &str, kind: &str) {
    let (h, api) = harness(end).await;
    let sub = past_due(&h, &api).await;

    // Within the grace: still past due, nothing announced.
    h.clock.advance(SignedDuration::from_hours(71));
    h.run().await;
    assert_eq!(status(&api, &sub).await, "past_due");
    assert!(events(&api, kind).await.is_empty());

    // The grace ran out: ended once, however many runs (and replicas) look.
    h.clock.advance(SignedDuration::from_hours(1));
    h.run().await;
    assert_eq!(status(&api, &sub).await, to);
    let replica = h.replica().await;
    replica.billing.run_once(h.now()).await.unwrap();
    h.run().await;
    let announced = events(&api, kind).await;
    assert_eq!(announced.len(), 1, "{announced:#?}");
    let data = &announced[0]["payload"]["data"];
    assert_eq!(data["subscription_id"], sub["id"], "{data}");
    assert_eq!(data["reason"], "dunning_ended");
    assert_eq!(data["status"], to);

    // No further charges: the next cycles fall due and nothing is sent.
    h.advance_days(70);
    h.run().await;
    assert_eq!(h.requests().await.len(), 2, "nothing sent after the end");
    assert_eq!(status(&api, &sub).await, to);
}

#[tokio::test]
async fn a_past_due_subscription_is_cancelled_once_its_grace_runs_out() {
    ends_after_the_grace(DunningEnd::Cancel, "cancelled", "subscription.cancelled").await;
}

#[tokio::test]
async fn a_past_due_subscription_is_paused_once_its_grace_runs_out() {
    ends_after_the_grace(DunningEnd::Pause, "paused", "subscription.paused").await;
}

#[tokio::test]
async fn by_default_past_due_stays_past_due() {
    let (h, api) = harness(DunningEnd::PastDue).await;
    let sub = past_due(&h, &api).await;
    h.advance_days(90);
    h.run().await;
    assert_eq!(status(&api, &sub).await, "past_due");
    assert!(events(&api, "subscription.cancelled").await.is_empty());
    assert!(events(&api, "subscription.paused").await.is_empty());
    assert_eq!(h.requests().await.len(), 2);
}

#[tokio::test]
async fn a_failure_settled_within_the_grace_is_not_ended() {
    let (h, api) = harness(DunningEnd::Cancel).await;
    let sub = past_due(&h, &api).await;
    let id = sub["id"].as_str().unwrap();
    let resumed = api
        .post(
            &format!("/v1/subscriptions/{id}/resume"),
            serde_json::json!({"failed_cycle": "leave"}),
        )
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    h.advance_days(4);
    h.run().await;
    assert_eq!(status(&api, &sub).await, "active");
    assert!(events(&api, "subscription.cancelled").await.is_empty());
}
