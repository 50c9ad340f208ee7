//! Several daemons on one database never send the same cycle twice.

use crate::support::*;
use billingd::domain::money::Money;
use billingd::domain::schedule::{IntervalUnit, Schedule};
use billingd::store::subscriptions::NewSubscription;
use std::collections::HashSet;

/// Due subscriptions in the test: three times what one daemon may hold ahead.
const DUE: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_three_thousand_due_subscriptions_each_charged_once() {
    let h = Harness::start().await;
    let replica = h.replica().await;
    assert_ne!(h.app.billing.worker_id(), replica.billing.worker_id());

    let mut accounts = Vec::new();
    for _ in 0..50 {
        accounts.push(h.account(CARD_OK).await);
    }
    for i in 0..DUE {
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
    // Every answer 20 ms late, as a real gateway's are, and three times what one daemon may hold
    // ahead (four claim batches: sending, ready, and two materialized): the first daemon cannot
    // have taken every charge before the second's first due scan, so both must take part.
    h.sim_post(
        "/_sim/faults",
        serde_json::json!({"slow_rate": 1.0, "slow_ms": 20}),
    )
    .await;
    let (one, two) = tokio::join!(h.app.billing.run_once(now), replica.billing.run_once(now));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.due + two.due, DUE as u64, "{one:?} {two:?}");
    assert_eq!(one.approved + two.approved, DUE as u64, "{one:?} {two:?}");
    assert!(
        one.sent > 0 && two.sent > 0,
        "both daemons took part: {one:?} {two:?}"
    );

    let ledger = h.ledger().await;
    assert_eq!(ledger.len(), DUE, "exactly one approved sale a cycle");
    let orders: HashSet<_> = ledger
        .iter()
        .map(|e| e["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(orders.len(), DUE, "none twice");
    let requests = h.requests().await;
    assert_eq!(requests.len(), DUE, "no cycle was even sent twice");
    let (approved,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM charges WHERE status = 'approved'")
            .fetch_one(h.store().pool())
            .await
            .unwrap();
    assert_eq!(approved, DUE as i64);
}
