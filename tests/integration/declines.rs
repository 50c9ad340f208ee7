//! Declines: soft ones are retried as new sales, hard ones end the charge.

use crate::support::*;
use std::collections::HashSet;

#[tokio::test]
async fn a_soft_decline_is_retried_later_with_a_new_key_and_order_id() {
    let h = Harness::start().await;
    let account = h.account(CARD_SOFT_TWICE).await;
    let sub = h.monthly(&account, 1200, "2027-01-01T00:00").await;

    let first = h.run().await;
    assert_eq!((first.declined, first.retry_scheduled), (1, 1), "{first:?}");
    let charge = &h.charges(&sub).await[0];
    assert_eq!((charge.status.as_str(), charge.attempt_no), ("due", 2));

    // Nothing is resent before the retry schedule says so (1 day by default).
    h.clock.advance(jiff::SignedDuration::from_hours(23));
    assert_eq!(h.run().await.sent, 0);
    h.clock.advance(jiff::SignedDuration::from_hours(1));
    assert_eq!(h.run().await.retry_scheduled, 1, "second soft decline");
    h.advance_days(3);
    assert_eq!(h.run().await.approved, 1, "third attempt approved");

    let requests = h.requests().await;
    assert_eq!(requests.len(), 3);
    let keys: HashSet<_> = requests
        .iter()
        .map(|r| r["idempotencyKey"].as_str().unwrap())
        .collect();
    let orders: HashSet<_> = requests
        .iter()
        .map(|r| r["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(
        (keys.len(), orders.len()),
        (3, 3),
        "each attempt a new key and orderId"
    );
    let charge = h.store().charge(h.charges(&sub).await[0].id).await.unwrap();
    assert_eq!(charge.status, "approved");
    let attempts = h.store().charge_attempts(charge.id).await.unwrap();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|a| a.outcome.clone().unwrap())
        .collect();
    assert_eq!(outcomes, ["declined_soft", "declined_soft", "approved"]);
    assert_eq!(h.ledger().await.len(), 1);
}

#[tokio::test]
async fn soft_declines_past_the_schedule_fail_the_charge_and_the_subscription_is_past_due() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1001, "2027-01-01T00:00").await; // …01: Do Not Honor (05)
    for _ in 0..6 {
        h.run().await;
        h.advance_days(5);
    }
    assert_eq!(h.requests().await.len(), 4, "one sale and three retries");
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "failed");
    assert!(
        charge.failure_reason.as_deref().unwrap().contains("05"),
        "{:?}",
        charge.failure_reason
    );
    assert_eq!(
        h.store().subscription(sub.id).await.unwrap().status,
        "past_due"
    );
    assert_eq!(
        h.charges(&sub).await.len(),
        1,
        "a past-due subscription is not charged further"
    );
}

#[tokio::test]
async fn a_hard_decline_fails_at_once() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1054, "2027-01-01T00:00").await; // …54: expired card
    let summary = h.run().await;
    assert_eq!((summary.declined, summary.retry_scheduled), (1, 0));
    h.advance_days(10);
    h.run().await;
    assert_eq!(h.requests().await.len(), 1, "never retried");
    assert_eq!(h.charges(&sub).await[0].status, "failed");
    assert_eq!(
        h.store().subscription(sub.id).await.unwrap().status,
        "past_due"
    );
}

#[tokio::test]
async fn a_request_the_gateway_rejects_fails_with_the_gateways_words() {
    let h = Harness::start().await;
    let real = h.account(CARD_OK).await;
    let cred = existing_token("296753000000"); // never issued by the gateway
    let bogus = h.store().insert_account(&cred, h.now()).await.unwrap();
    let sub = h.monthly(&bogus, 1000, "2027-01-01T00:00").await;
    let ok = h.monthly(&real, 1000, "2027-01-01T00:00").await;
    let summary = h.run().await;
    assert_eq!((summary.approved, summary.declined), (1, 1), "{summary:?}");
    let failed = &h.charges(&sub).await[0];
    assert_eq!(failed.status, "failed");
    let reason = failed.failure_reason.clone().unwrap();
    assert!(
        reason.contains("400") && reason.contains("paymentMethod.token"),
        "{reason}"
    );
    assert_eq!(h.charges(&ok).await[0].status, "approved");
}

#[tokio::test]
async fn a_first_payment_retried_after_later_cycles_fell_due_still_goes_first() {
    let h = Harness::start().await;
    let account = h.account(CARD_SOFT_TWICE).await;
    let sub = h.monthly(&account, 2000, "2027-01-01T00:00").await;
    // Three cycles due at once; the first is soft-declined, and its retry falls due after the
    // later cycles did: in the queue's order it now comes after them, and they wait for it.
    h.clock.set(ts("2027-03-15T00:00:00Z"));
    let first = h.run().await;
    assert_eq!(
        (first.due, first.sent, first.retry_scheduled),
        (3, 1, 1),
        "{first:?}"
    );
    for _ in 0..6 {
        h.advance_days(2);
        h.run().await;
    }
    let charges = h.charges(&sub).await;
    let settled: Vec<(i32, &str)> = charges
        .iter()
        .map(|c| (c.cycle, c.status.as_str()))
        .collect();
    assert_eq!(
        settled,
        [(1, "approved"), (2, "approved"), (3, "approved")],
        "the retried first payment was sent, then its successors"
    );
    assert_eq!(
        h.requests().await.len(),
        5,
        "three attempts of cycle 1, then 2 and 3"
    );
}
