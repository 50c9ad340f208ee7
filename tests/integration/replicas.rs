//! Several daemons on one database never send the same cycle twice.

use crate::support::*;
use billingd::domain::money::Money;
use billingd::domain::schedule::{IntervalUnit, Schedule};
use billingd::store::subscriptions::NewSubscription;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_charge_a_thousand_due_subscriptions_exactly_once() {
    let h = Harness::start().await;
    let replica = h.replica().await;
    assert_ne!(h.app.billing.worker_id(), replica.billing.worker_id());

    let mut accounts = Vec::new();
    for _ in 0..50 {
        accounts.push(h.account(CARD_OK).await);
    }
    for i in 0..1000 {
        let new = NewSubscription {
            account_id: accounts[i % accounts.len()].id,
            price: Money::charge(1000 + (i as i64 % 7) * 10, "USD").unwrap(),
            schedule: Schedule::new(
                "2027-01-01T00:00".parse().unwrap(),
                "UTC",
                IntervalUnit::Month,
                1,
                None,
            )
            .unwrap(),
            merchant_reference: Some(format!("sub-{i}")),
            metadata: serde_json::json!({}),
            series: None,
            imported: None,
            catch_up: Default::default(),
        };
        h.store().insert_subscription(&new, h.now()).await.unwrap();
    }
    h.clock.set(ts("2027-01-01T00:00:01Z"));
    let now = h.now();
    let (one, two) = tokio::join!(h.app.billing.run_once(now), replica.billing.run_once(now));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.due + two.due, 1000, "{one:?} {two:?}");
    assert_eq!(one.approved + two.approved, 1000, "{one:?} {two:?}");
    assert!(
        one.sent > 0 && two.sent > 0,
        "both daemons took part: {one:?} {two:?}"
    );

    let ledger = h.ledger().await;
    assert_eq!(ledger.len(), 1000, "exactly 1,000 approved sales");
    let orders: HashSet<_> = ledger
        .iter()
        .map(|e| e["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(orders.len(), 1000, "none twice");
    let requests = h.requests().await;
    assert_eq!(requests.len(), 1000, "no cycle was even sent twice");
    let (approved,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM charges WHERE status = 'approved'")
            .fetch_one(h.store().pool())
            .await
            .unwrap();
    assert_eq!(approved, 1000);
}
