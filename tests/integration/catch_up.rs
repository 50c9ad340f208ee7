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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_that_finds_a_run_in_progress_does_not_start_another() {
    let sim = SimConfig {
        slow_delay: std::time::Duration::from_millis(1500),
        ..SimConfig::default()
    };
    let h = Harness::with(sim, |_| {}).await;
    let account = h.account(CARD_OK).await;
    h.monthly(&account, 1097, "2027-01-01T00:00").await; // …97: the gateway answers slowly
    let billing = h.app.billing.clone();
    let now = h.now();
    let running = tokio::spawn(async move { billing.run_once(now).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        h.app.billing.tick().await.is_none(),
        "the overlapping tick was skipped"
    );
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.approved, 1, "{summary:?}");
    assert_eq!(h.ledger().await.len(), 1);
}

/// Charges that fall due while a run is working are not left for the next heartbeat: a run
/// that found work is followed by another, until one finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_runs_again_for_what_fell_due_while_it_worked() {
    let sim = SimConfig {
        slow_delay: std::time::Duration::from_millis(1500),
        ..SimConfig::default()
    };
    let h = Harness::with(sim, |_| {}).await;
    let account = h.account(CARD_OK).await;
    h.monthly(&account, 1097, "2027-01-01T00:00").await; // …97: the gateway answers slowly
    h.monthly(&account, 2000, "2027-01-02T00:00").await;
    let billing = h.app.billing.clone();
    let ticking = tokio::spawn(async move { billing.tick().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The second subscription falls due while the first run waits for the gateway.
    h.advance_days(1);
    let last = ticking.await.unwrap().expect("a summary");
    assert_eq!(
        h.ledger().await.len(),
        2,
        "both charged within the one tick"
    );
    assert_eq!(
        (last.due, last.sent),
        (0, 0),
        "it stopped once a run found nothing"
    );
}
