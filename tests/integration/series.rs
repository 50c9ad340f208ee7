//! One stored-credential series per agreement (issue 10, mistake 2): two plans on one Payroc
//! card are two series, each with its own first payment and one processingModel; a
//! re-initialized credential closes every series on it; a merchant may continue an agreement's
//! existing series on a new subscription.

use crate::support::*;
use billingd::config::{CatchUp, RefusedCycles};
use billingd::domain::outcome::Outcome;
use billingd::gateway::GatewayAnswer;
use billingd::store::outcomes::{Recorded, RetryPolicy};
use billingd::store::recording::Answered;
use billingd::store::sends::PlannedSend;
use jiff::SignedDuration;
use serde_json::{Value, json};
use uuid::Uuid;

/// The simulator's approved sales of one subscription (by the orderIds of its charges), oldest
/// first.
async fn sales_of(h: &Harness, sub: Uuid) -> Vec<Value> {
    let charges = h.store().charges(Some(sub), 100).await.unwrap();
    let orders: Vec<&str> = charges.iter().map(|c| c.order_id.as_str()).collect();
    h.ledger()
        .await
        .into_iter()
        .filter(|e| orders.contains(&e["orderId"].as_str().unwrap_or_default()))
        .collect()
}

/// Every sale is of `model`; the first opens the series and every later one refers to it, with
/// one card scheme reference (the first's, from its answer). Returns (first paymentId, scheme
/// reference the later ones carry).
fn assert_one_series(sales: &[Value], model: &str, what: &str) -> (Value, Value) {
    let first = &sales[0];
    assert_eq!(first["sequence"], "first", "{what}: {sales:#?}");
    assert!(first["firstPaymentId"].is_null(), "{what}: {first}");
    for sale in sales {
        assert_eq!(sale["processingModel"], model, "{what}: {sale}");
    }
    for later in &sales[1..] {
        assert_eq!(later["sequence"], "subsequent", "{what}: {later}");
        assert_eq!(
            later["firstPaymentId"], first["paymentId"],
            "{what}: refers to its own plan's first payment"
        );
        assert_eq!(
            later["cardSchemeReferenceId"], sales[1]["cardSchemeReferenceId"],
            "{what}"
        );
    }
    let scheme = sales[1]["cardSchemeReferenceId"].clone();
    assert!(scheme.is_string(), "{what}: {sales:#?}");
    (first["paymentId"].clone(), scheme)
}

/// The scenario: one card, a 2-installment plan and a monthly plan, both starting the
/// same day. Each plan is its own series: both first payments go out (in the same run), the
/// monthly plan is `recurring` throughout and refers to its own first payment, the installment
/// plan likewise with `installment`. The API shows each subscription's series.
#[tokio::test]
async fn two_plans_on_one_card_are_two_series() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let schedule = |total: Option<u32>| {
        let mut s = json!({"anchor": "2027-01-01T00:00", "time_zone": "UTC", "interval": "month"});
        if let Some(t) = total {
            s["total_cycles"] = json!(t);
        }
        s
    };
    let create = |amount: i64, total: Option<u32>| {
        api.post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": amount, "currency": "USD",
                "schedule": schedule(total)}),
        )
    };
    let installments = create(5000, Some(2)).await;
    let monthly = create(1500, None).await;
    assert_eq!(
        (installments.status, monthly.status),
        (201, 201),
        "{}",
        monthly.body
    );
    assert!(
        monthly.body["series"].is_null(),
        "no series before any payment"
    );
    let id = |a: &Answer| a.body["id"].as_str().unwrap().parse::<Uuid>().unwrap();
    let (inst_id, monthly_id) = (id(&installments), id(&monthly));

    let first = h.run().await;
    assert_eq!(
        (first.due, first.approved),
        (2, 2),
        "each plan opens its own series at once: {first:?}"
    );
    for month in 2..=4 {
        h.clock.set(ts(&format!("2027-0{month}-01T00:00:00Z")));
        let run = h.run().await;
        assert_eq!(run.approved, if month == 2 { 2 } else { 1 }, "{run:?}");
    }

    let inst_sales = sales_of(&h, inst_id).await;
    let monthly_sales = sales_of(&h, monthly_id).await;
    assert_eq!((inst_sales.len(), monthly_sales.len()), (2, 4));
    let inst_first = assert_one_series(&inst_sales, "installment", "installment plan");
    let monthly_first = assert_one_series(&monthly_sales, "recurring", "monthly plan");
    assert_ne!(inst_first.0, monthly_first.0);

    for (sub, first, model) in [
        (inst_id, &inst_first, "installment"),
        (monthly_id, &monthly_first, "recurring"),
    ] {
        let view = api.get(&format!("/v1/subscriptions/{sub}")).await;
        assert_eq!(view.status, 200);
        assert_eq!(
            view.body["series"],
            json!({"payment_id": first.0, "scheme_reference": first.1, "processing_model": model}),
            "{}",
            view.body
        );
    }
    let doc = api.get("/v1/openapi.json").await.body;
    let series = &doc["components"]["schemas"]["SubscriptionView"]["properties"]["series"];
    assert!(!series.is_null(), "the OpenAPI documents the series");
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        soft_decline_retries: vec![SignedDuration::from_hours(24)],
        unknown_retry_after: SignedDuration::from_secs(60),
        pending_recheck_after: SignedDuration::from_secs(60),
        dunning: Default::default(),
    }
}

/// A re-initialization closes the series, even for a `first` payment on the old credential
/// that was out when it happened and is approved only afterwards: the next charge opens a new
/// series on the new credential rather than referring to a payment made with the old one.
#[tokio::test]
async fn a_first_payment_on_the_old_credential_opens_no_series_after_a_reinitialization() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00").await;
    let worker = Uuid::new_v4();
    h.store()
        .materialize_due(h.now(), CatchUp::All, 10)
        .await
        .unwrap();
    let mut claimed = h
        .store()
        .claim_charges(worker, h.now(), SignedDuration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    claimed[0].sequence = Some("first".into());
    let plan = PlannedSend {
        charge: &claimed[0],
        sequence: "first",
        body: "{}",
        send_no: 1,
    };
    let sent = h
        .store()
        .start_sends(worker, &[plan], h.now())
        .await
        .unwrap();

    // While the first payment is out, the merchant suspends the account and the customer
    // gives a new card.
    h.clock.advance(SignedDuration::from_secs(5));
    h.store()
        .suspend_account(account.id, "fraud review", h.now())
        .await
        .unwrap();
    let cred = h.tokenize(CARD_OK).await;
    h.store()
        .reinitialize_with(account.id, &cred, RefusedCycles::Charge, h.now())
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_secs(5));
    let mut answer = GatewayAnswer::new(Outcome::Approved);
    answer.fields.payment_id = Some("OLDCARD1".into());
    answer.fields.scheme_reference = Some("SCHEME-OLD".into());
    let recorded = h
        .store()
        .record_outcomes(
            worker,
            &[Answered {
                charge: &claimed[0],
                attempt_id: sent[&claimed[0].id],
                answer: &answer,
            }],
            &policy(),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(recorded, [Recorded::Approved], "the payment itself counts");
    let after = h.store().subscription(sub.id).await.unwrap();
    assert_eq!(
        after.series_payment_id, None,
        "a payment with the old credential opens no series on the new one"
    );

    h.clock.set(ts("2027-02-01T00:00:00Z"));
    assert_eq!(h.run().await.approved, 1);
    let sales = h.ledger().await;
    assert_eq!(sales.len(), 1, "{sales:#?}");
    assert_eq!(sales[0]["sequence"], "first");
    assert_eq!(sales[0]["token"], cred.credential.secret().unwrap());
    let events = h.store().account_events(account.id).await.unwrap();
    let reactivated = events.last().unwrap();
    assert_eq!(reactivated.kind, "account.reactivated");
    assert_eq!(reactivated.detail["series_closed"], 0, "none was open yet");
}

/// A merchant moving an agreement to billingd gives its existing series with the subscription:
/// its charges continue that series. A series is refused on the account.
#[tokio::test]
async fn a_subscription_continues_an_agreements_existing_series() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    // The agreement's first payment, made by the merchant's previous system.
    let legacy = h.legacy_first_payment(&account).await;
    let legacy_id = legacy.payment_id.clone().unwrap();

    let created = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": 2500, "currency": "USD",
                "schedule": {"anchor": "2027-01-01T00:00", "time_zone": "UTC", "interval": "month"},
                "series": {"payment_id": legacy_id, "scheme_reference": legacy.scheme_reference}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["series"]["payment_id"], legacy_id.as_str());
    assert_eq!(created.body["series"]["processing_model"], "recurring");
    let empty = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": 2500, "currency": "USD",
                "schedule": {"anchor": "2027-01-01T00:00", "time_zone": "UTC", "interval": "month"},
                "series": {"payment_id": " "}}),
        )
        .await;
    assert_eq!(empty.status, 422, "{}", empty.body);

    assert_eq!(h.run().await.approved, 1);
    let sales: Vec<Value> = h
        .ledger()
        .await
        .into_iter()
        .filter(|e| e["orderId"] != "legacy-first-1")
        .collect();
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0]["sequence"], "subsequent");
    assert_eq!(sales[0]["processingModel"], "recurring");
    assert_eq!(sales[0]["firstPaymentId"], legacy_id.as_str());
}
