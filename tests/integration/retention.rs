//! `billingd prune`: old request logs and finished webhook events go; the ledger stays.

use crate::support::*;
use gateway_sim::SimConfig;
use jiff::SignedDuration;
use serde_json::json;

#[tokio::test]
async fn pruning_deletes_old_logs_of_settled_charges_and_keeps_the_ledger_and_open_charges() {
    let h = Harness::with(SimConfig::default(), |s| s.billing.unknown_resends = 0).await;
    let account = h.account(CARD_OK).await;
    let settled = h.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    assert_eq!(h.run().await.approved, 1);
    // A second account whose charge is still open: its outcome is unknown.
    let other = h.account(CARD_OK).await;
    let open = h.monthly(&other, 1700, "2027-01-01T00:00:00").await;
    h.sim_post("/_sim/faults", json!({"drop_next": 1})).await;
    assert_eq!(h.run().await.unknown, 1);
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(h.store().pool())
        .await
        .unwrap();
    assert!(events_before >= 1);

    // Nothing is old enough yet.
    let cutoff = h.now().checked_sub(SignedDuration::from_hours(24)).unwrap();
    let nothing = h.store().prune(cutoff).await.unwrap();
    assert_eq!((nothing.charge_attempts, nothing.webhook_events), (0, 0));

    // Two days later, with a cutoff of one day ago.
    h.clock.advance(SignedDuration::from_hours(48));
    let cutoff = h.now().checked_sub(SignedDuration::from_hours(24)).unwrap();
    let pruned = h.store().prune(cutoff).await.unwrap();
    assert_eq!(
        pruned.charge_attempts, 1,
        "the settled charge's one request"
    );
    assert_eq!(pruned.webhook_events as i64, events_before);

    let kept = &h.charges(&settled).await[0];
    assert_eq!(kept.status, "approved", "the charge itself is kept");
    assert!(h.store().charge_attempts(kept.id).await.unwrap().is_empty());
    let still_open = &h.charges(&open).await[0];
    assert_eq!(still_open.status, "due");
    assert_eq!(
        h.store()
            .charge_attempts(still_open.id)
            .await
            .unwrap()
            .len(),
        1,
        "an open charge keeps the requests its outcome is settled from"
    );
}
