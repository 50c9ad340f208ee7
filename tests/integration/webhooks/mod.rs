//! Merchant webhooks: every event reaches a receiver that was failing, signed; a dead receiver
//! does not slow billing and loses nothing.

pub mod receiver;

use crate::support::*;
use billingd::config::RefusedCycles;
use billingd::domain::schedule::IntervalUnit;
use receiver::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_its_first_three_deliveries_still_gets_every_event_once_signed() {
    let receiver = Receiver::start(3).await;
    let mut h = Harness::with(Default::default(), |s| webhooks_to(s, &receiver.url)).await;
    let api = h.serve_api();
    h.app.start_webhooks().expect("webhooks configured");

    let approved = h.account(CARD_OK).await;
    h.monthly(&approved, 1000, "2027-01-01T00:00").await;
    let installments = h.account(CARD_OK).await;
    let (anchor, monthly) = ("2027-01-01T00:00", IntervalUnit::Month);
    h.subscription(&installments, 1100, anchor, "UTC", monthly, Some(1))
        .await; // 1 cycle
    let soft = h.account(CARD_OK).await;
    h.monthly(&soft, 1001, "2027-01-01T00:00").await; // …01: soft decline
    let hard = h.account(CARD_OK).await;
    h.monthly(&hard, 1054, "2027-01-01T00:00").await; // …54: hard decline
    let stolen = h.account(CARD_OK).await;
    h.monthly(&stolen, 1043, "2027-01-01T00:00").await; // …43: pick up → suspended
    let run = h.run().await;
    assert_eq!((run.approved, run.suspended), (2, 1), "{run:?}");
    let card = h.tokenize(CARD_OK).await;
    h.store()
        .reinitialize_with(stolen.id, &card, RefusedCycles::Skip, h.now())
        .await
        .unwrap();

    let events = event_ids(&h).await;
    let mut kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "account.reactivated",
            "account.reinitialization_requested",
            "account.suspended",
            "charge.approved",
            "charge.approved",
            "charge.declined",
            "charge.failed",
            "subscription.completed",
            "subscription.past_due",
        ]
    );
    deliver_until(&h, "every event accepted", || {
        receiver.accepted().len() == events.len()
    })
    .await;

    let received = receiver.received();
    assert!(received.iter().all(|r| r.signature_ok), "{received:?}");
    let answers: Vec<u16> = received.iter().map(|r| r.answered).collect();
    assert_eq!(answers[..3], [500, 500, 500]);
    assert_eq!(
        received.len(),
        events.len() + 3,
        "one redelivery per refusal"
    );
    let accepted = receiver.accepted();
    let wanted: HashSet<&String> = events.iter().map(|(id, _)| id).collect();
    assert_eq!(accepted.keys().collect::<HashSet<_>>(), wanted);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    for r in &received {
        assert_eq!(r.body["id"], r.event_id.as_str(), "header and body agree");
        assert_eq!(r.body["type"], r.kind.as_str());
        assert!(r.body["created_at"].is_string() && r.body["data"].is_object());
    }
    // Nothing of the card or its tokens is in any event.
    let all = serde_json::to_string(&received.iter().map(|r| &r.body).collect::<Vec<_>>()).unwrap();
    for secret in [
        approved.credential.secret().unwrap().to_owned(),
        card.credential.secret().unwrap().to_owned(),
        CARD_OK.into(),
    ] {
        assert!(!all.contains(&secret), "{secret} in {all}");
    }

    // The attempts are visible through the API: a refused POST, then the accepted one.
    for refused in received.iter().take(3) {
        let e = api
            .get(&format!("/v1/webhook-events/{}", refused.event_id))
            .await;
        assert_eq!(e.status, 200, "{}", e.body);
        let d = &e.body["deliveries"][0];
        assert_eq!(
            (d["status"].as_str(), d["attempt_count"].as_i64()),
            (Some("delivered"), Some(2))
        );
        assert_eq!(d["endpoint"], receiver.url.as_str());
        let statuses: Vec<i64> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["http_status"].as_i64().unwrap())
            .collect();
        assert_eq!(statuses, [500, 200], "{}", e.body);
        assert_eq!(d["attempts"][0]["error"], "HTTP 500");
        assert_eq!(
            e.body["payload"], refused.body,
            "the API shows the body as sent"
        );
    }
    let declined = api.get("/v1/webhook-events?type=charge.declined").await;
    assert_eq!(
        declined.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        declined.body
    );
    let data = &declined.body["data"][0]["payload"]["data"];
    assert_eq!(
        (data["amount"].as_i64(), data["currency"].as_str()),
        (Some(1001), Some("USD"))
    );
    assert_eq!(data["outcome"], "declined_soft");
    assert!(
        data["next_attempt_at"].is_string() && data["reason"].is_string(),
        "{data}"
    );
    let requested = api
        .get("/v1/webhook-events?type=account.reinitialization_requested")
        .await;
    let data = &requested.body["data"][0]["payload"]["data"];
    assert_eq!(data["account_id"], stolen.id.to_string().as_str());
    assert!(
        data["link"].is_null() && data["reinitialization_needed"].is_string(),
        "{data}"
    );
    // Pages of 4 walk every event once.
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let page = api
            .get(&format!("/v1/webhook-events?limit=4&cursor={cursor}"))
            .await;
        seen.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        events.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    );
    assert_problem(
        &api.get("/v1/webhook-events?type=charge.refunded").await,
        422,
        "type",
    );
    assert_problem(
        &api.get(&format!("/v1/webhook-events/{}", uuid::Uuid::new_v4()))
            .await,
        404,
        "",
    );
    h.app.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_does_not_slow_billing_and_gets_every_event_once_it_is_back() {
    // The same run with nowhere to deliver to: the yardstick.
    let baseline = Harness::start().await;
    seed(&baseline, 200).await;
    let started = Instant::now();
    assert_eq!(baseline.run().await.approved, 200);
    let yardstick = started.elapsed();
    drop(baseline);

    let hole = Blackhole::start().await;
    let url = format!("http://127.0.0.1:{}/hooks", hole.port);
    let mut h = Harness::with(Default::default(), |s| webhooks_to(s, &url)).await;
    h.app.start_webhooks().expect("webhooks configured");
    seed(&h, 200).await;
    let started = Instant::now();
    assert_eq!(h.run().await.approved, 200);
    let took = started.elapsed();

    assert!(
        *hole.connections.lock().unwrap() > 0,
        "the worker was delivering during the run"
    );
    // Waiting on the receiver would take 200 events / 4 at a time × 1 s timeout = 50 s.
    assert!(
        took < yardstick * 3 + Duration::from_secs(2) && took < Duration::from_secs(20),
        "billing took {took:?} with a dead receiver, {yardstick:?} without webhooks"
    );

    let events = event_ids(&h).await;
    assert_eq!(events.len(), 200, "one charge.approved per charge");
    let port = hole.stop().await;
    let receiver = Receiver::start_on(port, 0).await;
    deliver_until(&h, "every event after the outage", || {
        receiver.accepted().len() == events.len()
    })
    .await;
    assert!(receiver.received().iter().all(|r| r.signature_ok));
    assert!(receiver.accepted().values().all(|n| *n == 1));
    // The receiver answers before the worker records the delivery: give the last records a
    // moment on a loaded machine.
    let mut open = i64::MAX;
    for _ in 0..100 {
        (open,) =
            sqlx::query_as("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
                .fetch_one(h.store().pool())
                .await
                .unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0);
    h.app.shutdown.cancel();
}
