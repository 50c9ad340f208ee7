//! After downtime, Postgres knows what was missed.

use crate::support::*;
use billingd::config::CatchUp;
use gateway_sim::SimConfig;

#[tokio::test]
async fn three_missed_cycles_are_charged_once_each_oldest_first() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 2000, "2027-01-01T00:00").await;

    // The daemon was down from before the first cycle until the third was due.
    h.clock.set(ts("2027-03-15T00:00:00Z"));
    let summary = h.run().await;
    assert_eq!(
        (summary.due, summary.sent, summary.approved),
        (3, 3, 3),
        "{summary:?}"
    );
    let again = h.run().await;
    assert_eq!(
        (again.due, again.sent),
        (0, 0),
        "a second run finds nothing: {again:?}"
    );

    let charges = h.charges(&sub).await;
    assert_eq!(
        charges.iter().map(|c| c.cycle).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let requests = h.requests().await;
    assert_eq!(requests.len(), 3, "each cycle sent exactly once");
    let ledger = h.ledger().await;
    let orders: Vec<&str> = ledger
        .iter()
        .map(|e| e["orderId"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = charges.iter().map(|c| c.order_id.as_str()).collect();
    assert_eq!(orders, expected, "oldest first");
    assert_eq!(ledger[0]["sequence"], "first");
    assert_eq!(ledger[2]["sequence"], "subsequent");
}

#[tokio::test]
async fn catch_up_latest_charges_only_the_latest_cycle_and_skips_the_rest() {
    let h = Harness::with(SimConfig::default(), |s| {
        s.billing.catch_up = CatchUp::Latest
    })
    .await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 2000, "2027-01-01T00:00").await;
    h.clock.set(ts("2027-03-15T00:00:00Z"));
    let summary = h.run().await;
    assert_eq!(
        (summary.due, summary.skipped, summary.approved),
        (1, 2, 1),
        "{summary:?}"
    );
    let statuses: Vec<_> = h
        .charges(&sub)
        .await
        .into_iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, ["skipped", "skipped", "approved"]);
    assert_eq!(h.ledger().await.len(), 1);
}
