//! Regressions found by the crash-and-fault campaign (`./scripts/faults`, the `faults` crate):
//! each test replays, deterministically, one interleaving the campaign hit (or, for the fence,
//! the one its stalled replicas make possible), and failed before its fix.

use crate::support::*;
use billingd::config::{CatchUp, Delay};
use billingd::domain::outcome::Outcome;
use billingd::gateway::GatewayAnswer;
use billingd::store::StoreError;
use billingd::store::outcomes::{Recorded, RetryPolicy};
use gateway_sim::SimConfig;
use jiff::SignedDuration;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use uuid::Uuid;

const LEASE: SignedDuration = SignedDuration::from_secs(60);

fn policy() -> RetryPolicy {
    RetryPolicy {
        soft_decline_retries: vec![SignedDuration::ZERO; 3],
        unknown_retry_after: SignedDuration::from_secs(60),
        pending_recheck_after: SignedDuration::from_secs(60),
        dunning: Default::default(),
    }
}

/// Campaign: an account suspended by the merchant while one of its charges was at the gateway
/// with no answer yet (its replica was killed, or the connection dropped). The charge stayed
/// due with its request written down, but claims wanted an active account, so nothing ever
/// resent it: a sale the gateway had approved stayed unknown to billingd, and its lease stuck.
#[tokio::test]
async fn a_charge_in_flight_when_its_account_is_suspended_is_completed_under_its_own_key() {
    let h = Harness::with(SimConfig::default(), |s| s.billing.unknown_resends = 0).await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    // Approved at the gateway, then the connection drops: billingd does not know.
    h.sim_post("/_sim/faults", json!({"drop_next": 1})).await;
    assert_eq!(h.run().await.unknown, 1);
    h.store()
        .suspend_account(account.id, "customer asked", h.now())
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_mins(2));
    h.run().await;
    let charge = &h.charges(&sub).await[0];
    assert_eq!(
        charge.status, "approved",
        "settled, not left due: {charge:?}"
    );
    assert_eq!(h.ledger().await.len(), 1, "one sale");
    let attempts = h.store().charge_attempts(charge.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].idempotency_key, attempts[1].idempotency_key);
    let account = h.store().account(account.id).await.unwrap();
    assert_eq!(account.state.as_str(), "suspended", "the suspension stands");
}

/// The same, when the resend finds the card account terminated: the charge is held with the
/// others, and the suspension is not announced a second time.
#[tokio::test]
async fn a_terminated_answer_after_a_merchant_suspension_holds_the_charge_quietly() {
    let h = Harness::with(SimConfig::default(), |s| s.billing.unknown_resends = 0).await;
    let cred = h.tokenize(CARD_OK).await;
    let token = cred.credential.secret().unwrap().to_owned();
    let account = h.store().insert_account(&cred, h.now()).await.unwrap();
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    // A 500 page: not processed, outcome unknown.
    h.sim_post("/_sim/faults", json!({"fail_next": 1})).await;
    assert_eq!(h.run().await.unknown, 1);
    h.store()
        .suspend_account(account.id, "card reported stolen", h.now())
        .await
        .unwrap();
    h.sim_post(&format!("/_sim/tokens/{token}/terminate"), json!({}))
        .await;
    h.clock.advance(SignedDuration::from_mins(2));
    h.run().await;
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "held", "{charge:?}");
    assert_eq!(charge.last_outcome.as_deref(), Some("account_terminated"));
    assert!(h.ledger().await.is_empty());
    let events = h.store().account_events(account.id).await.unwrap();
    let suspensions = events
        .iter()
        .filter(|e| e.kind == "account.suspended")
        .count();
    assert_eq!(suspensions, 1, "{events:?}");
}

/// Campaign: a charge claimed (lease taken, request not yet written) when the merchant
/// cancelled its subscription. The cancel skipped it because of the live lease; its daemon
/// was then killed, and the charge stayed due behind a dead lease forever. Had the daemon
/// lived, it would have sent it after the cancel.
#[tokio::test]
async fn a_charge_claimed_when_its_subscription_is_cancelled_is_cancelled_and_never_sent() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    let worker = Uuid::new_v4();
    h.store()
        .materialize_due(h.now(), CatchUp::All, 100)
        .await
        .unwrap();
    let claimed = h
        .store()
        .claim_charges(worker, h.now(), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    h.store()
        .cancel_subscription(sub.id, false, h.now())
        .await
        .unwrap();
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "cancelled", "{charge:?}");
    let fixed = h
        .store()
        .fix_request(&claimed[0], worker, "first", "{}", h.now())
        .await;
    assert!(
        matches!(fixed, Err(StoreError::Conflict(_))),
        "the claim must not write (and send) a cancelled charge: {fixed:?}"
    );
    // The batched write-down billing uses is fenced the same way.
    let batch = [billingd::store::sends::PlannedSend {
        charge: &claimed[0],
        sequence: "first",
        body: "{}",
        send_no: 1,
    }];
    let written = h
        .store()
        .start_sends(worker, &batch, h.now())
        .await
        .unwrap();
    assert!(
        written.is_empty(),
        "nor write it down in a batch: {written:?}"
    );
    // The same for a suspension: the claimed charge is held, not left due.
    let other = h.monthly(&account, 1200, "2027-01-01T00:00:00").await;
    h.store()
        .materialize_due(h.now(), CatchUp::All, 100)
        .await
        .unwrap();
    let claimed = h
        .store()
        .claim_charges(worker, h.now(), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    h.store()
        .suspend_account(account.id, "fraud review", h.now())
        .await
        .unwrap();
    assert_eq!(h.charges(&other).await[0].status, "held");
    let leased: i64 =
        sqlx::query_scalar("SELECT count(*) FROM charges WHERE lease_owner IS NOT NULL")
            .fetch_one(h.store().pool())
            .await
            .unwrap();
    assert_eq!(leased, 0, "no lease left on settled charges");
}

/// The fence (the campaign's stalled replicas): a daemon whose claim was taken over — here
/// the charge was soft-declined and re-claimed for a new attempt with a new key, whose
/// request is out — must not record its stale answer over the newer attempt. Before the fence
/// (lease owner only) it did: it re-keyed the charge while the new key's sale was in flight,
/// opening the way to two approved sales. Nor may a daemon stalled past its lease still send,
/// even after it claimed the charge again itself (CertiTrade: two sends of one attempt can
/// both look the payment up, find nothing, and charge under two Dates).
#[tokio::test]
async fn a_replica_that_lost_its_claim_can_neither_record_over_a_newer_attempt_nor_send() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    let store = h.store();
    let worker = Uuid::new_v4();
    store
        .materialize_due(h.now(), CatchUp::All, 100)
        .await
        .unwrap();
    let first = store
        .claim_charges(worker, h.now(), LEASE, 10)
        .await
        .unwrap()
        .remove(0);
    store
        .fix_request(&first, worker, "first", "{\"attempt\":1}", h.now())
        .await
        .unwrap();
    let sent_first = store
        .start_send(&first, worker, 1, "first", h.now())
        .await
        .unwrap()
        .expect("sent");
    let declined = GatewayAnswer::new(Outcome::DeclinedSoft);
    // The answer to attempt 1 is recorded (by this daemon or another: same worker id is the
    // hard case), and attempt 2 is claimed and sent under a new key.
    let recorded = store
        .record_outcome(worker, &first, sent_first, &declined, &policy(), h.now())
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::RetryScheduled);
    let second = store
        .claim_charges(worker, h.now(), LEASE, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.attempt_no, 2);
    store
        .fix_request(&second, worker, "first", "{\"attempt\":2}", h.now())
        .await
        .unwrap();
    store
        .start_send(&second, worker, 1, "first", h.now())
        .await
        .unwrap()
        .expect("sent");
    // A stale copy of attempt 1 (a resend that finished late) records its answer.
    let stale = store
        .start_send(&first, worker, 2, "first", h.now())
        .await
        .unwrap();
    assert!(
        stale.is_none(),
        "attempt 1 is over: nothing more is sent for it"
    );
    let recorded = store
        .record_outcome(worker, &first, sent_first, &declined, &policy(), h.now())
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::LeaseLost);
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.attempt_no, 2);
    assert_eq!(
        charge.idempotency_key, second.idempotency_key,
        "the key of the sale in flight is kept"
    );
    assert!(charge.sequence.is_some(), "its request stays written down");

    // A daemon stalled past its lease sends nothing, even if nobody took the charge over ...
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    let late = store
        .start_send(&second, worker, 2, "first", h.now())
        .await
        .unwrap();
    assert!(late.is_none(), "the lease expired: no send");
    // ... nor once it has claimed the charge again itself (same worker, same attempt): only
    // the newer claim sends and records.
    let third = store
        .claim_charges(worker, h.now(), LEASE, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(third.attempt_no, 2);
    let stale = store
        .start_send(&second, worker, 2, "first", h.now())
        .await
        .unwrap();
    assert!(
        stale.is_none(),
        "the older claim of the same attempt: no send"
    );
    let sent_third = store
        .start_send(&third, worker, 2, "first", h.now())
        .await
        .unwrap()
        .expect("the newer claim sends");
    let approved = GatewayAnswer::new(Outcome::Approved);
    let recorded = store
        .record_outcome(worker, &second, sent_third, &approved, &policy(), h.now())
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::LeaseLost);
    let recorded = store
        .record_outcome(worker, &third, sent_third, &approved, &policy(), h.now())
        .await
        .unwrap();
    assert_eq!(recorded, Recorded::Approved);
}

/// Campaign: a 500 during the API's account check was answered "422 account_id: payment
/// account … does not exist" — a refusal a client does not retry — while Postgres restarted.
#[tokio::test]
async fn a_database_failure_while_creating_a_subscription_is_a_5xx_not_a_missing_account() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    h.store().pool().close().await;
    let answer = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": 1500, "currency": "USD",
                   "schedule": {"anchor": "2027-01-01T00:00:00", "time_zone": "UTC", "interval": "month"}}),
        )
        .await;
    assert!(answer.status >= 500, "{} {}", answer.status, answer.body);
}

async fn certitrade_account(h: &Harness, api: &Api) -> String {
    let created = api
        .post("/v1/accounts", json!({"gateway": "certitrade"}))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let payment = created.body["initialization"]["payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = h
        .http
        .post(format!(
            "{}/_sim/certitrade/paywin/{payment}",
            h.sim.base_url()
        ))
        .json(&json!({"card": "123456789000"}))
        .send()
        .await
        .unwrap();
    assert!(done.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.get(&format!("/v1/accounts/{id}")).await.body["state"] != "active" {
        assert!(Instant::now() < deadline, "account never became active");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    id
}

async fn certitrade_sim(h: &Harness, what: &str) -> Vec<Value> {
    h.http
        .get(format!("{}/_sim/certitrade/{what}", h.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A CertiTrade harness with quick resends, and a way to arm the simulator's random faults.
async fn certitrade_harness(window: u64, timeout: u64) -> (Harness, Api) {
    let mut h = Harness::certitrade(|s| {
        s.billing.unknown_resends = 1;
        s.certitrade.resend_window = Delay::secs(window);
        s.certitrade.request_timeout = Delay::secs(timeout);
    })
    .await;
    let api = h.serve_api();
    (h, api)
}

async fn certitrade_faults(h: &Harness, plan: Value) {
    let url = format!("{}/_sim/certitrade/faults", h.sim.base_url());
    let r = h.http.post(url).json(&plan).send().await.unwrap();
    assert!(r.status().is_success());
}

/// Approved sales at the simulator for the subscription's first charge.
async fn certitrade_sales_of(h: &Harness, api: &Api, sub: &Value) -> (Value, Vec<Value>) {
    let charge = api
        .get(&format!(
            "/v1/subscriptions/{}/charges",
            sub["id"].as_str().unwrap()
        ))
        .await
        .body["data"][0]
        .clone();
    let reference = charge["order_id"].as_str().unwrap().to_owned();
    let sales = certitrade_sim(h, "ledger")
        .await
        .into_iter()
        .filter(|e| e["reference"] == reference)
        .collect();
    (charge, sales)
}

/// Campaign (a gateway incident: failures, then requests held past the client's timeout): a
/// CertiTrade charge whose stored Date had grown too old to resend was looked up (not found)
/// and sent under a new Date — which was not stored. That request timed out while CertiTrade
/// held it; the resend that followed used the old Date again, so it looked up once more, found
/// nothing (the held request was not processed yet) and sent under a third Date: two payments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certitrade_resend_under_a_new_date_stores_that_date_first() {
    let (h, api) = certitrade_harness(2, 1).await;
    let account = certitrade_account(&h, &api).await;
    let sub = api.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    // Nothing processed, outcome unknown; then the stored Date grows old enough to look up.
    certitrade_faults(&h, json!({"fail_rate": 1})).await;
    assert_eq!(h.run().await.unknown, 1);
    tokio::time::sleep(Duration::from_millis(5200)).await;
    // Every request is now held 1.5 s before it is processed: past the 1 s timeout.
    certitrade_faults(&h, json!({"timeout_rate": 1, "timeout_ms": 1500})).await;
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.run().await.unknown, 1);
    certitrade_faults(&h, json!({})).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.run().await.approved, 1);
    let (charge, sales) = certitrade_sales_of(&h, &api, &sub).await;
    assert_eq!(charge["status"], "approved");
    assert_eq!(sales.len(), 1, "charged once: {sales:?}");
}

/// Campaign (same incident): a resend with a still-fresh Date was held by CertiTrade past the
/// client's timeout; by the next resend the Date was too old, so billingd looked the payment up
/// — while CertiTrade was still processing the held request — found nothing, and charged again
/// under a new Date. A lookup now waits until twice the resend window has passed since the
/// Date: no send with that Date can still be in CertiTrade's hands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certitrade_lookup_waits_until_no_resend_can_still_be_processed() {
    let (h, api) = certitrade_harness(3, 2).await;
    let account = certitrade_account(&h, &api).await;
    let sub = api.monthly(&account, 1500, "2027-01-01T00:00:00").await;
    certitrade_faults(&h, json!({"fail_rate": 1})).await;
    assert_eq!(h.run().await.unknown, 1);
    // The Date is between 1 and 2 s old: the next send still resends it as it is ...
    tokio::time::sleep(Duration::from_millis(1400)).await;
    // ... and CertiTrade holds it 3 s, past the 2 s timeout; the resend after that timeout
    // finds the Date too old to repeat.
    certitrade_faults(&h, json!({"timeout_rate": 1, "timeout_ms": 3000})).await;
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.run().await.unknown, 1);
    certitrade_faults(&h, json!({})).await;
    tokio::time::sleep(Duration::from_millis(4000)).await;
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.run().await.approved, 1);
    let (charge, sales) = certitrade_sales_of(&h, &api, &sub).await;
    assert_eq!(charge["status"], "approved");
    assert_eq!(sales.len(), 1, "charged once: {sales:?}");
}
