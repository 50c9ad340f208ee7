//! Unknown outcomes are settled by resending the same bytes under the same key, never by a
//! new sale; the simulator's ledger counts the money that moved.

use crate::support::*;
use serde_json::json;

fn keys_of(requests: &[serde_json::Value]) -> Vec<&str> {
    requests
        .iter()
        .map(|r| r["idempotencyKey"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_connection_dropped_after_approval_is_settled_by_lookup_and_counted_once() {
    // …99: the sale is booked and the connection drops. Before anything is resent, billingd asks
    // Payroc for the order (`GET /payments?orderId=…`) and records the approval it finds: no
    // second POST, one sale, and the attempt log shows the lost answer and the one found.
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1099, "2027-01-01T00:00").await;
    let summary = h.run().await;
    assert_eq!(summary.approved, 1, "{summary:?}");

    let requests = h.requests().await;
    assert_eq!(
        requests.len(),
        1,
        "found by lookup, not resent: {requests:?}"
    );
    assert_eq!(requests[0]["result"], "dropped");
    assert_eq!(h.ledger().await.len(), 1, "one sale at the gateway");

    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "approved");
    assert_eq!(charge.idempotency_key.to_string(), keys_of(&requests)[0]);
    let attempts = h.store().charge_attempts(charge.id).await.unwrap();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|a| a.outcome.clone().unwrap())
        .collect();
    assert_eq!(outcomes, ["unknown", "approved"]);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("connection dropped"),
        "{:?}",
        attempts[0].error
    );
    assert!(
        attempts.iter().all(|a| a.attempt_no == 1),
        "one attempt: the lost answer and the one found"
    );
}

#[tokio::test]
async fn a_500_page_leaves_the_outcome_unknown_until_the_same_request_gets_through() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1000, "2027-01-01T00:00").await;
    // More failures than one claim's resends: the charge stays open with its key.
    h.sim_post("/_sim/faults", json!({"fail_next": 10})).await;
    let summary = h.run().await;
    assert_eq!((summary.approved, summary.unknown), (0, 1), "{summary:?}");
    let charge = &h.charges(&sub).await[0];
    assert_eq!(
        (charge.status.as_str(), charge.last_outcome.as_deref()),
        ("due", Some("unknown"))
    );
    let attempts = h.store().charge_attempts(charge.id).await.unwrap();
    assert_eq!(attempts.len(), 4, "first send and three resends");
    assert!(
        attempts[0].error.as_deref().unwrap().contains("500"),
        "{:?}",
        attempts[0].error
    );

    // Not before unknown_retry_after…
    assert_eq!(h.run().await.sent, 0);
    h.clock.advance(jiff::SignedDuration::from_mins(1));
    h.sim_post("/_sim/faults", json!({"fail_next": 0})).await;
    let later = h.run().await;
    assert_eq!(later.approved, 1, "{later:?}");
    let requests = h.requests().await;
    let keys = keys_of(&requests);
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "never a new key: {keys:?}"
    );
    assert_eq!(h.ledger().await.len(), 1);
}

#[tokio::test]
async fn a_first_time_500_and_a_garbage_answer_are_resent_and_charged_once() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let a = h.monthly(&account, 1096, "2027-01-01T00:00").await; // …96: 500 on the first send
    let summary = h.run().await;
    assert_eq!(summary.approved, 1, "{summary:?}");
    h.sim_post("/_sim/faults", json!({"garbage_next": 1})).await;
    let b = h
        .monthly(&h.account(CARD_OK).await, 1000, "2027-01-02T00:00")
        .await;
    h.advance_days(1);
    assert_eq!(h.run().await.approved, 1);
    for sub in [&a, &b] {
        let charge = &h.charges(sub).await[0];
        let attempts = h.store().charge_attempts(charge.id).await.unwrap();
        assert_eq!(attempts.len(), 2, "one resend");
        assert_eq!(attempts[0].idempotency_key, attempts[1].idempotency_key);
        assert_eq!(attempts[0].outcome.as_deref(), Some("unknown"));
        assert_eq!(charge.status, "approved");
    }
    assert_eq!(h.ledger().await.len(), 2);
}

#[tokio::test]
async fn a_pending_payment_is_looked_up_not_resent() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1098, "2027-01-01T00:00").await; // …98: pending
    let first = h.run().await;
    assert_eq!((first.approved, first.unknown), (0, 1), "{first:?}");
    h.clock.advance(jiff::SignedDuration::from_mins(1));
    assert_eq!(h.run().await.approved, 1);
    assert_eq!(
        h.requests().await.len(),
        1,
        "one sale; the second contact was a lookup"
    );
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "approved");
    assert!(
        h.store()
            .subscription(sub.id)
            .await
            .unwrap()
            .series_payment_id
            .is_some()
    );
}

#[tokio::test]
async fn an_expired_bearer_token_is_refreshed_and_the_sale_resent_with_the_same_key() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    for day in 1..=20 {
        h.monthly(
            &account,
            1000 + day * 100,
            &format!("2027-01-{day:02}T00:00"),
        )
        .await;
    }
    h.clock.set(ts("2027-01-10T12:00:00Z"));
    assert_eq!(h.run().await.approved, 10);
    // The token the daemon cached dies mid-run (between its runs and during the next one).
    h.sim_post("/_sim/auth/expire-all", json!({})).await;
    let expirer = {
        let http = h.http.clone();
        let url = format!("{}/_sim/auth/expire-all", h.sim.base_url());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            http.post(url).send().await.unwrap();
        })
    };
    h.clock.set(ts("2027-01-25T00:00:00Z"));
    let summary = h.run().await;
    expirer.await.unwrap();
    assert_eq!(
        (summary.approved, summary.unknown, summary.errors),
        (10, 0, 0),
        "{summary:?}"
    );
    let requests = h.requests().await;
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| r["result"] == "unauthorized")
        .collect();
    assert!(
        !refused.is_empty(),
        "the sim refused the stale token at least once"
    );
    for r in refused {
        let key = r["idempotencyKey"].as_str().unwrap();
        let retried = requests
            .iter()
            .filter(|x| x["idempotencyKey"] == key && x["result"] == "approved");
        assert_eq!(
            retried.count(),
            1,
            "the refused request was resent with its key and approved"
        );
    }
    assert_eq!(h.ledger().await.len(), 20);
}
