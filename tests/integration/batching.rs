//! The batched hot path: claims that read the queue a window at a time, requests written down
//! a batch at a time, answers recorded a batch at a time — each with the same fences as the
//! one-charge statements they replace.

use crate::support::*;
use billingd::config::CatchUp;
use billingd::domain::outcome::Outcome;
use billingd::gateway::GatewayAnswer;
use billingd::store::claims::ClaimedCharge;
use billingd::store::outcomes::{Recorded, RetryPolicy};
use billingd::store::recording::Answered;
use billingd::store::sends::PlannedSend;
use jiff::SignedDuration;
use uuid::Uuid;

const LEASE: SignedDuration = SignedDuration::from_secs(60);

fn policy() -> RetryPolicy {
    RetryPolicy {
        soft_decline_retries: vec![SignedDuration::from_hours(24)],
        unknown_retry_after: SignedDuration::from_secs(60),
        pending_recheck_after: SignedDuration::from_secs(60),
        dunning: Default::default(),
    }
}

/// What a run does first: due cycles become charges, and up to `limit` of them are claimed.
async fn materialize_and_claim(h: &Harness, worker: Uuid, limit: u32) -> Vec<ClaimedCharge> {
    h.store()
        .materialize_due(h.now(), CatchUp::All, 100)
        .await
        .unwrap();
    h.store()
        .claim_charges(worker, h.now(), LEASE, limit)
        .await
        .unwrap()
}

fn approved(payment_id: &str) -> GatewayAnswer {
    let mut a = GatewayAnswer::new(Outcome::Approved);
    a.http_status = Some(201);
    a.fields.payment_id = Some(payment_id.into());
    a.fields.scheme_reference = Some("SCHEME1".into());
    a
}

/// A claim of one charge, behind a head of the queue longer than a window in which nothing may
/// be claimed (later cycles of a subscription whose first cycle is out), still finds the
/// claimable charge further on.
#[tokio::test]
async fn a_claim_passes_over_windows_of_blocked_charges() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    // Eight missed weekly cycles, then a monthly subscription that fell due after all of them.
    let weekly = h
        .subscription(
            &account,
            500,
            "2026-11-01T00:00:00",
            "UTC",
            billingd::domain::schedule::IntervalUnit::Week,
            None,
        )
        .await;
    let monthly = h.monthly(&account, 1500, "2026-12-31T00:00:00").await;
    // The weekly plan has no series yet: its first charge goes out alone and opens it.
    let worker = Uuid::new_v4();
    let mut first = materialize_and_claim(&h, worker, 1).await;
    assert_eq!(first.len(), 1);
    // As `prepare` leaves a claim: the position it was written with.
    first[0].sequence = Some("first".into());
    assert_eq!((first[0].subscription_id, first[0].cycle), (weekly.id, 1));
    let sent = h
        .store()
        .start_sends(
            worker,
            &[PlannedSend {
                charge: &first[0],
                sequence: "first",
                body: "{}",
                send_no: 1,
            }],
            h.now(),
        )
        .await
        .unwrap();
    let answer = approved("PAY1");
    let recorded = h
        .store()
        .record_outcomes(
            worker,
            &[Answered {
                charge: &first[0],
                attempt_id: sent[&first[0].id],
                answer: &answer,
            }],
            &policy(),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(recorded, [Recorded::Approved]);
    // Now the series exists; hold cycle 2 of the weekly plan out so cycles 3.. stay blocked.
    let second = h
        .store()
        .claim_charges(worker, h.now(), LEASE, 1)
        .await
        .unwrap();
    assert_eq!((second[0].subscription_id, second[0].cycle), (weekly.id, 2));
    // Blocked: weekly cycles 3..=9 (seven, more than the window of two); claimable: monthly 1.
    let third = h
        .store()
        .claim_charges(worker, h.now(), LEASE, 1)
        .await
        .unwrap();
    assert_eq!(third.len(), 1, "the monthly charge behind the blocked ones");
    assert_eq!((third[0].subscription_id, third[0].cycle), (monthly.id, 1));
    assert!(
        h.store()
            .claim_charges(worker, h.now(), LEASE, 5)
            .await
            .unwrap()
            .is_empty(),
        "nothing else may go out while weekly cycle 2 is open"
    );
}

/// One recording transaction for a mixed batch: a plain approval, a first payment (which
/// opens its subscription's series), a soft decline, and an approval whose claim was taken over —
/// each recorded by its own rule, the taken-over one not at all.
#[tokio::test]
async fn a_mixed_batch_is_recorded_by_each_answers_rule_and_fenced_per_charge() {
    let h = Harness::start().await;
    let worker = Uuid::new_v4();
    let opener = h.account(CARD_OK).await;
    let opener_sub = h.monthly(&opener, 1000, "2027-01-01T00:00:00").await;
    let series = h.account(CARD_OK).await;
    let claimed = materialize_and_claim(&h, worker, 10).await;
    assert_eq!(claimed.len(), 1);
    // Three subsequent payments of subscriptions that already have their series.
    let subs = [
        h.monthly(&series, 2000, "2027-01-01T00:00:00").await,
        h.monthly(&series, 3000, "2027-01-01T00:00:00").await,
        h.monthly(&series, 4000, "2027-01-01T00:00:00").await,
    ];
    sqlx::query(
        "UPDATE subscriptions SET series_payment_id = 'SERIES1', \
         series_scheme_reference = 'SCHEME0', series_processing_model = 'recurring' \
         WHERE account_id = $1",
    )
    .bind(series.id)
    .execute(h.store().pool())
    .await
    .unwrap();
    let mut batch = claimed;
    batch.extend(materialize_and_claim(&h, worker, 10).await);
    assert_eq!(batch.len(), 4);
    let sequence = |c: &ClaimedCharge| {
        if c.series_payment_id.is_some() {
            "subsequent"
        } else {
            "first"
        }
    };
    let planned: Vec<PlannedSend> = batch
        .iter()
        .map(|c| PlannedSend {
            charge: c,
            sequence: sequence(c),
            body: "{}",
            send_no: 1,
        })
        .collect();
    let sent = h
        .store()
        .start_sends(worker, &planned, h.now())
        .await
        .unwrap();
    assert_eq!(
        sent.len(),
        4,
        "every charge written down with an attempt row"
    );
    // The claims as `prepare` leaves them: the sequence they were written with.
    for c in &mut batch {
        c.sequence = Some(sequence(c).into());
    }
    let by_sub = |id: Uuid| batch.iter().find(|c| c.subscription_id == id).unwrap();
    let opening = by_sub(opener_sub.id);
    let (plain, declined, taken_over) =
        (by_sub(subs[0].id), by_sub(subs[1].id), by_sub(subs[2].id));
    // Another daemon takes `taken_over` over once its lease expired.
    sqlx::query("UPDATE charges SET lease_token = lease_token + 1, lease_owner = $2 WHERE id = $1")
        .bind(taken_over.id)
        .bind(Uuid::new_v4())
        .execute(h.store().pool())
        .await
        .unwrap();
    let mut soft = GatewayAnswer::new(Outcome::DeclinedSoft);
    soft.http_status = Some(201);
    soft.fields.processor_response_code = Some("51".into());
    let answers = [approved("OPEN1"), approved("PAY2"), soft, approved("PAY4")];
    let charges = [opening, plain, declined, taken_over];
    let batch_in: Vec<Answered> = charges
        .iter()
        .zip(&answers)
        .map(|(c, a)| Answered {
            charge: c,
            attempt_id: sent[&c.id],
            answer: a,
        })
        .collect();
    let recorded = h
        .store()
        .record_outcomes(worker, &batch_in, &policy(), h.now())
        .await
        .unwrap();
    assert_eq!(
        recorded,
        [
            Recorded::Approved,
            Recorded::Approved,
            Recorded::RetryScheduled,
            Recorded::LeaseLost
        ]
    );
    let pool = h.store().pool().clone();
    let status = |sub: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>, i32)>(
                "SELECT status, gateway_payment_id, attempt_no FROM charges \
                 WHERE subscription_id = $1",
            )
            .bind(sub)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        status(opener_sub.id).await,
        ("approved".into(), Some("OPEN1".into()), 1)
    );
    assert_eq!(
        status(subs[0].id).await,
        ("approved".into(), Some("PAY2".into()), 1)
    );
    assert_eq!(
        status(subs[1].id).await,
        ("due".into(), None, 2),
        "a new attempt later"
    );
    assert_eq!(
        status(subs[2].id).await,
        ("due".into(), None, 1),
        "left to its new holder"
    );
    let opener = h.store().subscription(opener_sub.id).await.unwrap();
    assert_eq!(
        opener.series_payment_id.as_deref(),
        Some("OPEN1"),
        "the series is opened"
    );
    // Every answer is on its attempt row, the taken-over one included (it was sent).
    let finished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM charge_attempts WHERE finished_at IS NOT NULL AND outcome IS NOT NULL",
    )
    .fetch_one(h.store().pool())
    .await
    .unwrap();
    assert_eq!(finished, 4);
    // Announced: the two approvals and the decline, not the taken-over charge.
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM webhook_events ORDER BY kind")
        .fetch_all(h.store().pool())
        .await
        .unwrap();
    assert_eq!(
        kinds,
        ["charge.approved", "charge.approved", "charge.declined"]
    );
}

/// Charges written down but not sent when the daemon stops are given back at once: no attempt
/// row claims they reached the gateway, and the next claim sends them under the same key.
#[tokio::test]
async fn unsent_charges_are_given_back_with_their_keys() {
    let h = Harness::start().await;
    let worker = Uuid::new_v4();
    let account = h.account(CARD_OK).await;
    h.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    let claimed = materialize_and_claim(&h, worker, 10).await;
    let c = &claimed[0];
    let sent = h
        .store()
        .start_sends(
            worker,
            &[PlannedSend {
                charge: c,
                sequence: "first",
                body: "{\"exact\":true}",
                send_no: 1,
            }],
            h.now(),
        )
        .await
        .unwrap();
    h.store()
        .release_unsent(worker, &[(c.id, c.lease_token, sent[&c.id])])
        .await
        .unwrap();
    assert!(h.store().charge_attempts(c.id).await.unwrap().is_empty());
    let again = h
        .store()
        .claim_charges(Uuid::new_v4(), h.now(), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "claimable at once, not after the lease");
    assert_eq!(again[0].idempotency_key, c.idempotency_key);
    assert_eq!(again[0].request_body.as_deref(), Some("{\"exact\":true}"));
}
