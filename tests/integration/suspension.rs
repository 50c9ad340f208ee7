//! A terminated card account suspends the account at once and stops every charge on it;
//! re-initialization with a new token opens a new series for every subscription.

use crate::support::*;
use billingd::config::RefusedCycles;

#[tokio::test]
async fn a_terminated_account_is_suspended_and_nothing_more_is_sent_until_reinitialized() {
    let h = Harness::start().await;
    let account = h.account(CARD_CLOSES).await;
    let healthy = h.account(CARD_OK).await;
    let a = h.monthly(&account, 1000, "2027-01-01T00:00").await;
    let b = h.monthly(&account, 500, "2027-01-15T00:00").await;
    let other = h.monthly(&healthy, 800, "2027-01-01T00:00").await;

    h.clock.set(ts("2027-01-10T00:00:00Z"));
    assert_eq!(
        h.run().await.approved,
        2,
        "a#1 and the healthy account's #1"
    );
    h.clock.set(ts("2027-01-20T00:00:00Z"));
    let first = h.run().await;
    // b#1 is the token's second sale: closed account.
    assert_eq!((first.sent, first.suspended), (1, 1), "{first:?}");

    let suspended = h.store().account(account.id).await.unwrap();
    assert_eq!(suspended.state.as_str(), "suspended");
    assert!(
        suspended
            .suspension_reason
            .as_deref()
            .unwrap()
            .contains("46")
    );
    for sub in [&a, &b] {
        assert_eq!(h.store().subscription(sub.id).await.unwrap().status, "held");
    }
    let events = h.store().account_events(account.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["account.suspended", "account.reinitialization_requested"]
    );
    assert!(
        events[1].detail["link"].is_null(),
        "Payroc: new card details, no link"
    );
    assert!(
        events[0].detail["reinitialization"]
            .as_str()
            .unwrap()
            .contains("secure token")
    );

    // Months pass: the healthy account is charged, the suspended one is not contacted.
    let token = account.credential.secret().unwrap().to_owned();
    let before = h.requests_for_token(&token).await;
    h.clock.set(ts("2027-04-20T00:00:00Z"));
    let later = h.run().await;
    assert_eq!(
        later.approved, 3,
        "the healthy subscription's Feb, Mar, Apr: {later:?}"
    );
    let after = h.requests_for_token(&token).await;
    assert_eq!(
        before, after,
        "no request for a suspended account's subscriptions"
    );
    assert_eq!(h.charges(&other).await.len(), 4);

    // The customer gives new card details: a new token, a new series.
    let cred = h.tokenize(CARD_OK).await;
    let back = h
        .store()
        .reinitialize_with(account.id, &cred, RefusedCycles::Charge, h.now())
        .await
        .unwrap();
    assert_eq!(back.state.as_str(), "active");
    for sub in [&a, &b] {
        let sub = h.store().subscription(sub.id).await.unwrap();
        assert!(sub.series_payment_id.is_none(), "a new series starts");
        assert_eq!(sub.series_closed_at, Some(billingd::store::to_db(h.now())));
    }

    let resumed = h.run().await;
    // b#1 (refused) + b#2..#4, a#2..#4 — every missed cycle once.
    assert_eq!(resumed.approved, 7, "{resumed:?}");
    let ledger = h.ledger().await;
    let new_sales: Vec<_> = ledger
        .iter()
        .filter(|e| e["token"] == cred.credential.secret().unwrap())
        .collect();
    assert_eq!(new_sales.len(), 7);
    assert_eq!(
        new_sales
            .iter()
            .filter(|e| e["sequence"] == "first")
            .count(),
        2,
        "one first payment per subscription"
    );
    let b_charges = h.charges(&b).await;
    assert_eq!(
        b_charges[0].attempt_no, 2,
        "the refused cycle charged once more, with a new key"
    );
    assert!(b_charges.iter().all(|c| c.status == "approved"));
    let history: Vec<_> = h
        .store()
        .account_events(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        history,
        [
            "account.suspended",
            "account.reinitialization_requested",
            "account.reactivated"
        ]
    );
}

#[tokio::test]
async fn a_pickup_answer_terminates_the_account_and_reinitializing_an_active_one_is_refused() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let cred = existing_token(account.credential.secret().unwrap());
    let err = h
        .store()
        .reinitialize_with(account.id, &cred, RefusedCycles::Skip, h.now())
        .await
        .unwrap_err();
    // On an active account a new credential is a card update (card_update.rs); the card it
    // already holds is refused.
    assert!(err.to_string().contains("already holds this card"), "{err}");

    let sub = h.monthly(&account, 1043, "2027-01-01T00:00").await; // …43: pick up, stolen
    assert_eq!(h.run().await.suspended, 1);
    assert_eq!(h.charges(&sub).await[0].status, "held");
    assert_eq!(
        h.store().account(account.id).await.unwrap().state.as_str(),
        "suspended"
    );

    h.store()
        .reinitialize_with(account.id, &cred, RefusedCycles::Skip, h.now())
        .await
        .unwrap();
    assert_eq!(
        h.charges(&sub).await[0].status,
        "skipped",
        "refused cycle skipped by policy"
    );
    assert_eq!(h.run().await.sent, 0);
}

#[tokio::test]
async fn a_charge_whose_outcome_is_unknown_keeps_its_key_through_a_suspension() {
    let h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.unknown_resends = 0;
        s.billing.unknown_retry_after = billingd::config::Delay::secs(30 * 86_400);
    })
    .await;
    let account = h.account(CARD_OK).await;
    h.monthly(&account, 1000, "2027-01-01T00:00").await;
    let unknown = h.monthly(&account, 1096, "2027-01-02T00:00").await; // …96: 500 on first send
    h.monthly(&account, 1043, "2027-01-03T00:00").await; // …43: pick up
    h.clock.set(ts("2027-01-01T12:00:00Z"));
    assert_eq!(h.run().await.approved, 1);
    h.clock.set(ts("2027-01-02T12:00:00Z"));
    assert_eq!(h.run().await.unknown, 1);
    let before = h.charges(&unknown).await[0].clone();
    h.clock.set(ts("2027-01-03T12:00:00Z"));
    assert_eq!(h.run().await.suspended, 1);

    let during = h.charges(&unknown).await[0].clone();
    assert_eq!(
        during.status, "due",
        "a request may have reached the gateway: not held"
    );
    assert_eq!(during.idempotency_key, before.idempotency_key);

    let cred = existing_token(account.credential.secret().unwrap());
    h.store()
        .reinitialize_with(account.id, &cred, RefusedCycles::Skip, h.now())
        .await
        .unwrap();
    h.clock.set(ts("2027-02-01T13:00:00Z")); // past unknown_retry_after
    h.run().await;
    let after = h.charges(&unknown).await[0].clone();
    assert_eq!(after.status, "approved");
    assert_eq!(
        after.idempotency_key, before.idempotency_key,
        "settled under its original key"
    );
    let requests = h.requests().await;
    let sends = requests
        .iter()
        .filter(|r| r["idempotencyKey"] == before.idempotency_key.to_string().as_str());
    assert_eq!(sends.count(), 2, "the 500 and the resend, same key");
}
