//! Dunning by the networks' rules (issue 12, part 2): a schedule per decline code, and the
//! card's reattempt budget counted across its subscriptions for automatic retries too.

use billingd::config::Delay;
use serde_json::Value;

use crate::support::*;

async fn charges_of(api: &Api, sub: &Value) -> Vec<Value> {
    let id = sub["id"].as_str().unwrap();
    let list = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
    list.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_code_with_its_own_schedule_waits_as_configured() {
    // Insufficient funds (51): retried after 3 days, not the soft schedule's 1 day.
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.dunning
            .codes
            .insert("51".into(), vec![Delay::secs(3 * 86_400)]);
    })
    .await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1051, "2027-01-01T00:00").await;
    h.run().await;
    let charge = &charges_of(&api, &sub).await[0];
    assert_eq!(charge["status"], "due", "{charge}");
    assert_eq!(charge["attempt_no"], 2);
    assert_eq!(
        charge["next_attempt_at"], "2027-01-04T00:00:00Z",
        "{charge}"
    );
}

#[tokio::test]
async fn automatic_retries_stop_at_the_cards_budget_across_its_subscriptions() {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.soft_decline_retries = vec![Delay::secs(3600); 10];
        s.dunning.max_reattempts = 3;
    })
    .await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    // …01: Do Not Honor (05) every time.
    let subs = [
        api.monthly(&account, 1001, "2027-01-01T00:00").await,
        api.monthly(&account, 2001, "2027-01-01T00:00").await,
    ];
    for _ in 0..8 {
        h.run().await;
        h.clock.advance(jiff::SignedDuration::from_hours(1));
    }
    // Two first sales, then three reattempts in all; both charges end failed.
    assert_eq!(h.requests().await.len(), 5);
    for sub in &subs {
        let charge = &charges_of(&api, sub).await[0];
        assert_eq!(charge["status"], "failed", "{charge}");
    }
    let failed = api.get("/v1/charges?status=failed").await.body["data"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        failed.iter().any(|c| c["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("reattempt budget")),
        "{failed:#?}"
    );
}
