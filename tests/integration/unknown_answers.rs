//! Only a definitive answer settles a charge. A resend that finds its Idempotency-Key still in
//! flight at Payroc gets 409; the first request is then approved. The charge must end approved
//! (found by looking the order up), never `failed`, and be charged once.

use billingd::config::Delay;
use gateway_sim::SimConfig;
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_that_finds_its_key_in_flight_never_fails_the_charge() {
    // …95: Payroc takes 2 s to process the sale, holding the key; billingd gives up after 1 s.
    let sim = SimConfig {
        slow_delay: Duration::from_millis(2000),
        ..SimConfig::default()
    };
    let h = Harness::with(sim, |s| {
        s.payroc.request_timeout = Delay::secs(1);
    })
    .await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1095, "2027-01-01T00:00").await;

    h.run().await;
    let charge = &h.charges(&sub).await[0];
    let in_flight = h
        .requests()
        .await
        .iter()
        .filter(|r| r["httpStatus"] == 409)
        .count();
    assert!(
        in_flight > 0,
        "no resend met the key in flight: the test proves nothing"
    );
    assert_eq!(
        charge.status, "due",
        "an in-flight 409 must not settle the charge"
    );
    assert_eq!(charge.last_outcome.as_deref(), Some("unknown"));
    let subscription = h.store().subscription(sub.id).await.unwrap();
    assert_eq!(subscription.status, "active");

    // The first request completes at the gateway without its client.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(h.ledger().await.len(), 1);

    // The next run looks the order up before resending, and finds the approval.
    h.clock.advance(jiff::SignedDuration::from_mins(2));
    h.run().await;
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "approved");
    assert!(charge.gateway_payment_id.is_some());
    assert_eq!(h.ledger().await.len(), 1, "charged exactly once");
}
