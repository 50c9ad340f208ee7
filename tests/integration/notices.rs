//! Notices ahead of a charge (issue 12, part 4): `charge.upcoming` once per cycle, across
//! restarts and replicas; `account.card_expiring` once per card expiry.

use serde_json::{Value, json};

use crate::support::*;

async fn events(api: &Api, kind: &str) -> Vec<Value> {
    let a = api.get(&format!("/v1/webhook-events?type={kind}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn charge_upcoming_is_sent_once_per_cycle_across_a_restart() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1500, "2027-01-10T09:00").await;

    // Four days ahead: outside the default three.
    h.clock.set(ts("2027-01-06T08:00:00Z"));
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 0);
    h.clock.set(ts("2027-01-07T10:00:00Z"));
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 1);
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 0);
    // A restarted daemon (or another replica) on the same database sends nothing again.
    let restarted = h.replica().await;
    assert_eq!(restarted.notices.send().await.unwrap().upcoming, 0);

    let sent = events(&api, "charge.upcoming").await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let data = &sent[0]["payload"]["data"];
    assert_eq!(data["subscription_id"], sub["id"]);
    assert_eq!(
        (&data["cycle"], &data["due_at"], &data["amount"]),
        (&json!(1), &json!("2027-01-10T09:00:00Z"), &json!(1500))
    );

    // Charged, then the next cycle is announced in its turn.
    h.clock.set(ts("2027-01-10T10:00:00Z"));
    assert_eq!(h.run().await.approved, 1);
    h.clock.set(ts("2027-02-07T10:00:00Z"));
    assert_eq!(restarted.notices.send().await.unwrap().upcoming, 1);
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 0);
    let sent = events(&api, "charge.upcoming").await;
    let cycles: Vec<&Value> = sent
        .iter()
        .map(|e| &e["payload"]["data"]["cycle"])
        .collect();
    assert_eq!(cycles.len(), 2);
    assert!(cycles.contains(&&json!(2)));
}

#[tokio::test]
async fn a_paused_subscription_or_an_overdue_cycle_is_not_announced() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let paused = api.monthly(&account, 1500, "2027-01-03T09:00").await;
    let id = paused["id"].as_str().unwrap();
    api.post(&format!("/v1/subscriptions/{id}/pause"), json!({}))
        .await;
    // Due before the daemon looked: too late to announce, it is charged instead.
    api.monthly(&account, 1500, "2027-01-01T09:00").await;
    h.clock.set(ts("2027-01-01T10:00:00Z"));
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 0);
    assert!(events(&api, "charge.upcoming").await.is_empty());
}

#[tokio::test]
async fn a_card_expiring_before_the_next_charge_is_announced_once() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let created = api
        .post(
            "/v1/accounts",
            json!({"gateway": "payroc", "processing_terminal_id": "3204001",
                "card": {"number": CARD_OK, "expiry": "0127", "cvv": "123"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let account = created.body["id"].as_str().unwrap().to_owned();
    let lasting = api.account(CARD_OK).await; // expires 12/30
    api.monthly(&account, 800, "2027-02-10T09:00").await;
    api.monthly(&lasting, 800, "2027-02-10T09:00").await;

    h.clock.set(ts("2027-01-28T00:00:00Z"));
    assert_eq!(h.app.notices.send().await.unwrap().card_expiring, 1);
    assert_eq!(h.app.notices.send().await.unwrap().card_expiring, 0);
    let sent = events(&api, "account.card_expiring").await;
    assert_eq!(sent.len(), 1);
    let data = &sent[0]["payload"]["data"];
    assert_eq!(data["account_id"], account.as_str());
    assert_eq!(data["card_expiry"], "0127");
    assert_eq!(data["expires_at"], "2027-02-01T00:00:00Z");
}

/// A book whose cycles come into the lead time together (an import, a raised lead time) is
/// announced in bounded batches, every cycle once: more than two batches' worth here.
#[tokio::test]
async fn many_cycles_coming_due_together_are_announced_in_batches_each_once() {
    let h = Harness::start().await;
    h.clock.set(ts("2027-03-01T08:00:00Z"));
    let pool = sqlx::PgPool::connect(&h.db.url).await.unwrap();
    // 2,345 cycles, one a minute from a day ahead: all within the default three days.
    let now = ts("2027-03-01T08:00:00Z");
    let first_due = now + jiff::SignedDuration::from_hours(24);
    seed_book(&pool, now, (20, 2_345), 1, first_due).await;

    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 2_345);
    assert_eq!(h.app.notices.send().await.unwrap().upcoming, 0);
    let (events, announced): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_events WHERE kind = 'charge.upcoming'), \
                (SELECT count(DISTINCT subject_id) FROM notices WHERE kind = 'charge.upcoming')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((events, announced), (2_345, 2_345));
}
