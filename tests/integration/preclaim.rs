//! Charges claimed as they are materialized: the ones the claim would take at once are inserted
//! leased, with their requests and the attempt rows of their first sends; every other one is
//! inserted unclaimed, for the claim and its rules.

use crate::support::*;
use billingd::config::CatchUp;
use billingd::domain::position::{ProcessingModel, Sequence};
use billingd::domain::schedule::IntervalUnit;
use billingd::gateway::SaleSpec;
use billingd::store::claim_writes::ClaimedWrite;
use billingd::store::claims::ClaimedCharge;
use billingd::store::preclaim::ClaimWhileMaterializing;
use jiff::SignedDuration;
use std::collections::HashMap;
use uuid::Uuid;

/// The charges' state as stored: lease owner, token, sequence, body, attempt rows (send_no).
type Stored = (Option<Uuid>, i64, Option<String>, Option<String>, Vec<i32>);

#[derive(sqlx::FromRow)]
struct Row {
    subscription_id: Uuid,
    cycle: i32,
    lease_owner: Option<Uuid>,
    lease_token: i64,
    sequence: Option<String>,
    request_body: Option<String>,
    sends: Vec<i32>,
}

async fn stored(h: &Harness) -> HashMap<(Uuid, i32), Stored> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.subscription_id, c.cycle, c.lease_owner, c.lease_token, c.sequence, \
         c.request_body, COALESCE((SELECT array_agg(t.send_no ORDER BY t.id) \
           FROM charge_attempts t WHERE t.charge_id = c.id), '{}') AS sends \
         FROM charges c",
    )
    .fetch_all(h.store().pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| {
            let state = (
                r.lease_owner,
                r.lease_token,
                r.sequence,
                r.request_body,
                r.sends,
            );
            ((r.subscription_id, r.cycle), state)
        })
        .collect()
}

/// A first payment's request, as billing builds it.
fn first_payment(h: &Harness, charge: &mut ClaimedCharge) -> Option<(String, String)> {
    let body = h
        .app
        .gateways
        .sale_body(&SaleSpec {
            charge,
            sequence: Sequence::First,
            model: ProcessingModel::Recurring,
            first: None,
        })
        .ok()?;
    Some(("first".to_owned(), body))
}

async fn materialize_claiming(h: &Harness, worker: Uuid) -> Vec<ClaimedWrite> {
    let mut claim = ClaimWhileMaterializing {
        worker,
        now: h.now(),
        lease: SignedDuration::from_secs(60),
        plan: |c: &mut ClaimedCharge| first_payment(h, c),
    };
    let (_, claimed) = h
        .store()
        .materialize_due_claiming(h.now(), CatchUp::All, 100, Some(&mut claim))
        .await
        .unwrap();
    claimed
}

#[tokio::test]
async fn only_charges_the_claim_would_take_at_once_are_inserted_claimed() {
    let h = Harness::start().await;
    let card = h.account(CARD_OK).await;
    let other_card = h.account(CARD_OK).await;
    // Three weekly cycles due: the first is claimed, the later two wait for it.
    let weekly = h
        .subscription(
            &card,
            500,
            "2027-01-01T00:00:00",
            "UTC",
            IntervalUnit::Week,
            None,
        )
        .await;
    let monthly = h.monthly(&card, 900, "2027-01-15T00:00:00").await;
    // An account whose row another transaction holds (a suspension under way): its charge is
    // left to the claim, which sees how the suspension ended.
    let held_back = h.monthly(&other_card, 700, "2027-01-15T00:00:00").await;
    h.clock.set(ts("2027-01-15T00:00:01Z"));
    let mut suspending = h.store().pool().begin().await.unwrap();
    sqlx::query("SELECT 1 FROM payment_accounts WHERE id = $1 FOR NO KEY UPDATE")
        .bind(other_card.id)
        .execute(&mut *suspending)
        .await
        .unwrap();

    let worker = Uuid::new_v4();
    let claimed = materialize_claiming(&h, worker).await;
    suspending.rollback().await.unwrap();

    let mut got: Vec<(Uuid, i32)> = claimed
        .iter()
        .map(|c| (c.charge.subscription_id, c.charge.cycle))
        .collect();
    got.sort();
    let mut want = vec![(weekly.id, 1), (monthly.id, 1)];
    want.sort();
    assert_eq!(got, want, "the first open charge of each free subscription");
    let rows = stored(&h).await;
    assert_eq!(rows.len(), 5, "every due cycle is a charge: {rows:?}");
    for c in &claimed {
        let written = c.written.as_ref().expect("written down");
        let (owner, token, seq, body, sends) = &rows[&(c.charge.subscription_id, c.charge.cycle)];
        assert_eq!(*owner, Some(worker));
        assert_eq!(*token, c.charge.lease_token, "the claim's fencing token");
        assert_eq!(seq.as_deref(), Some("first"));
        assert_eq!(
            body.as_deref(),
            Some(written.body.as_str()),
            "the request sent is stored"
        );
        assert_eq!(sends, &vec![1], "its first send logged before it goes out");
    }
    for key in [(weekly.id, 2), (weekly.id, 3), (held_back.id, 1)] {
        let (owner, _, seq, body, sends) = &rows[&key];
        assert_eq!(
            (owner, seq, body),
            (&None, &None, &None),
            "{key:?} left to the claim"
        );
        assert!(sends.is_empty());
    }

    // Billing sends what is left once the first cycle is settled; the claimed charges are
    // sent by nobody else while their lease runs.
    let summary = h.run().await;
    assert_eq!(
        summary.sent, 1,
        "only the held-back account's charge: {summary:?}"
    );
}

/// A daemon that claimed charges as it materialized them and died before sending: once the
/// lease runs out, any daemon sends the stored request under the same key, once.
#[tokio::test]
async fn a_charge_claimed_at_insert_by_a_daemon_that_died_is_sent_after_its_lease() {
    let h = Harness::start().await;
    let card = h.account(CARD_OK).await;
    let sub = h.monthly(&card, 1200, "2027-01-15T00:00:00").await;
    h.clock.set(ts("2027-01-15T00:00:01Z"));
    let claimed = materialize_claiming(&h, Uuid::new_v4()).await;
    let body = claimed[0].written.as_ref().unwrap().body.clone();
    let key = claimed[0].charge.idempotency_key.to_string();

    assert_eq!(h.run().await.sent, 0, "leased to the dead daemon");
    h.clock.advance(SignedDuration::from_secs(61));
    let summary = h.run().await;
    assert_eq!((summary.sent, summary.approved), (1, 1), "{summary:?}");
    let requests = h.requests().await;
    assert_eq!(requests.len(), 1);
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        requests[0]["idempotencyKey"],
        key.as_str(),
        "under the same key"
    );
    assert_eq!(
        requests[0]["orderId"], sent["order"]["orderId"],
        "the stored request"
    );
    assert_eq!(requests[0]["sequence"], "first");
    let rows = stored(&h).await;
    assert_eq!(
        rows[&(sub.id, 1)].4,
        vec![1, 2],
        "the dead daemon's send, then this one"
    );
}
