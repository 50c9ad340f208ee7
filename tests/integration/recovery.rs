//! Recovering a failed charge (issue 12, part 3): `POST /v1/charges/{id}/retry` sends it again
//! as a new attempt when nothing about it is in doubt, within the card's reattempt budget.

use serde_json::{Value, json};

use crate::support::*;

/// A harness whose soft declines fail the charge at once (no automatic retries, no schedule
/// per code).
pub(crate) async fn no_auto_retries() -> (Harness, Api) {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.soft_decline_retries = vec![];
        s.dunning.codes.clear();
    })
    .await;
    let api = h.serve_api();
    (h, api)
}

pub(crate) async fn only_charge(api: &Api, sub: &Value) -> Value {
    let id = sub["id"].as_str().unwrap();
    let list = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
    list.body["data"][0].clone()
}

#[tokio::test]
async fn a_failed_charge_is_retried_as_a_new_attempt_until_it_is_paid() {
    let (h, api) = no_auto_retries().await;
    // The simulator soft-declines this card's first two sales, then approves.
    let account = api.account(CARD_SOFT_TWICE).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00").await;
    h.run().await;
    let failed = only_charge(&api, &sub).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let id = failed["id"].as_str().unwrap().to_owned();
    let sub_id = sub["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub_id}")).await.body["status"],
        "past_due"
    );

    let retried = api
        .post(&format!("/v1/charges/{id}/retry"), json!({}))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(
        (&retried.body["status"], &retried.body["attempt_no"]),
        (&json!("due"), &json!(2))
    );
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub_id}")).await.body["status"],
        "active"
    );
    // Not failed any more: a second retry is refused until this one is answered.
    let again = api
        .post(&format!("/v1/charges/{id}/retry"), json!({}))
        .await;
    assert_problem(&again, 409, "");
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains("only a failed charge")
    );

    h.run().await; // declined again
    assert_eq!(only_charge(&api, &sub).await["status"], "failed");
    let retried = api
        .post(&format!("/v1/charges/{id}/retry"), json!({}))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(h.run().await.approved, 1);
    let paid = only_charge(&api, &sub).await;
    assert_eq!(
        (&paid["status"], &paid["attempt_no"]),
        (&json!("approved"), &json!(3))
    );

    // Three sales, each a new attempt: its own key and orderId.
    let requests = h.requests().await;
    assert_eq!(requests.len(), 3, "{requests:#?}");
    let orders: std::collections::HashSet<&str> = requests
        .iter()
        .map(|r| r["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(orders.len(), 3);
    assert_eq!(h.ledger().await.len(), 1, "paid once");
}

#[tokio::test]
async fn the_sixteenth_reattempt_in_thirty_days_is_refused_across_two_subscriptions_of_one_card() {
    let (h, api) = no_auto_retries().await;
    let account = api.account(CARD_OK).await;
    // …01: the simulator answers Do Not Honor (05), a soft decline, every time.
    let subs = [
        api.monthly(&account, 1001, "2027-01-01T00:00").await,
        api.monthly(&account, 2001, "2027-01-01T00:00").await,
    ];
    h.run().await;
    let charges: Vec<String> = {
        let mut ids = Vec::new();
        for s in &subs {
            ids.push(
                only_charge(&api, s).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        ids
    };
    for n in 0..15 {
        let id = &charges[n % 2];
        let r = api
            .post(&format!("/v1/charges/{id}/retry"), json!({}))
            .await;
        assert_eq!(r.status, 200, "reattempt {}: {}", n + 1, r.body);
        h.run().await;
    }
    let sixteenth = api
        .post(&format!("/v1/charges/{}/retry", charges[1]), json!({}))
        .await;
    assert_problem(&sixteenth, 409, "");
    let detail = sixteenth.body["detail"].as_str().unwrap();
    assert!(detail.contains("15 of its 15 reattempts"), "{detail}");
    assert_eq!(
        h.requests().await.len(),
        17,
        "2 first sales and 15 reattempts"
    );

    // Thirty days on, the oldest reattempts have aged out of the window.
    h.advance_days(31);
    let later = api
        .post(&format!("/v1/charges/{}/retry", charges[1]), json!({}))
        .await;
    assert_eq!(later.status, 200, "{}", later.body);
}

#[tokio::test]
async fn an_unknown_charge_is_404_and_an_approved_one_409() {
    let (h, api) = no_auto_retries().await;
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00").await;
    h.run().await;
    let paid = only_charge(&api, &sub).await;
    let id = paid["id"].as_str().unwrap();
    assert_problem(
        &api.post(&format!("/v1/charges/{id}/retry"), json!({}))
            .await,
        409,
        "",
    );
    let missing = "0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11";
    assert_problem(
        &api.post(&format!("/v1/charges/{missing}/retry"), json!({}))
            .await,
        404,
        "",
    );
}

/// Visa category 1 (here 14, invalid card number): never reattempted, neither by billing nor by
/// hand.
#[tokio::test]
async fn a_visa_category_one_decline_is_never_retried() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1014, "2027-01-01T00:00").await;
    for _ in 0..4 {
        h.run().await;
        h.advance_days(3);
    }
    assert_eq!(h.requests().await.len(), 1, "never retried by billing");
    let charge = only_charge(&api, &sub).await;
    assert_eq!(charge["status"], "failed");
    let id = charge["id"].as_str().unwrap();
    let refused = api
        .post(&format!("/v1/charges/{id}/retry"), json!({}))
        .await;
    assert_problem(&refused, 409, "");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("declined for good"),
        "{}",
        refused.body
    );
    h.run().await;
    assert_eq!(h.requests().await.len(), 1, "nor by hand");
}

/// Resuming a past-due subscription says what happens to its failed charge: left failed (the
/// default: billing goes on with the next cycle) or retried now.
#[tokio::test]
async fn resume_leaves_or_retries_the_failed_cycle_as_asked() {
    let (h, api) = no_auto_retries().await;
    let account = api.account(CARD_SOFT_TWICE).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00").await;
    let sub_id = sub["id"].as_str().unwrap();
    h.run().await;
    let resumed = api
        .post(
            &format!("/v1/subscriptions/{sub_id}/resume"),
            json!({"failed_cycle": "retry"}),
        )
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(resumed.body["status"], "active");
    let charge = only_charge(&api, &sub).await;
    assert_eq!(
        (&charge["status"], &charge["attempt_no"]),
        (&json!("due"), &json!(2))
    );
    h.run().await; // the card's second soft decline: past due again
    assert_eq!(only_charge(&api, &sub).await["status"], "failed");

    let resumed = api
        .post(&format!("/v1/subscriptions/{sub_id}/resume"), json!({}))
        .await;
    assert_eq!(resumed.body["status"], "active", "{}", resumed.body);
    h.run().await;
    assert_eq!(
        only_charge(&api, &sub).await["status"],
        "failed",
        "left as it was"
    );
    assert_eq!(h.requests().await.len(), 2);
    let bad = api
        .post(
            &format!("/v1/subscriptions/{sub_id}/resume"),
            json!({"failed_cycle": "forget"}),
        )
        .await;
    assert_problem(&bad, 422, "failed_cycle");
}
