//! Each charge tells Payroc where it sits in the series.

use crate::support::*;
use billingd::domain::schedule::IntervalUnit;

#[tokio::test]
async fn first_then_subsequent_payments_carry_the_first_transactions_reference() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1500, "2027-01-01T00:00").await;

    for month in 0..3 {
        if month > 0 {
            h.clock
                .set(ts(&format!("2027-0{}-01T00:00:00Z", month + 1)));
        }
        let summary = h.run().await;
        assert_eq!(
            (summary.due, summary.approved),
            (1, 1),
            "month {month}: {summary:?}"
        );
    }

    let ledger = h.ledger().await;
    assert_eq!(ledger.len(), 3);
    let first = &ledger[0];
    assert_eq!(first["sequence"], "first");
    assert_eq!(first["processingModel"], "recurring");
    assert!(first["firstPaymentId"].is_null());

    let recorded = h.store().subscription(sub.id).await.unwrap();
    let series_id = recorded.series_payment_id.clone().expect("series recorded");
    assert_eq!(first["paymentId"], series_id.as_str());
    assert_eq!(
        recorded.series_processing_model.as_deref(),
        Some("recurring")
    );
    let scheme = recorded
        .series_scheme_reference
        .clone()
        .expect("scheme reference recorded");
    for later in &ledger[1..] {
        assert_eq!(later["sequence"], "subsequent");
        assert_eq!(later["processingModel"], "recurring");
        assert_eq!(later["firstPaymentId"], series_id.as_str());
        assert_eq!(later["cardSchemeReferenceId"], scheme.as_str());
    }

    let charges = h.charges(&sub).await;
    let sequences: Vec<_> = charges
        .iter()
        .map(|c| c.sequence.clone().unwrap())
        .collect();
    assert_eq!(sequences, ["first", "subsequent", "subsequent"]);
    assert!(charges.iter().all(|c| c.status == "approved"));
}

#[tokio::test]
async fn installments_end_after_the_last_one() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h
        .subscription(
            &account,
            3300,
            "2027-01-01T10:00",
            "UTC",
            IntervalUnit::Week,
            Some(3),
        )
        .await;

    for _ in 0..6 {
        h.run().await;
        h.advance_days(7);
    }

    let charges = h.charges(&sub).await;
    assert_eq!(charges.len(), 3, "exactly three installments");
    assert!(
        charges
            .iter()
            .all(|c| c.status == "approved" && c.processing_model == "installment")
    );
    let lasts: Vec<bool> = charges.iter().map(|c| c.is_last).collect();
    assert_eq!(lasts, [false, false, true]);

    let ledger = h.ledger().await;
    assert_eq!(ledger.len(), 3);
    assert!(ledger.iter().all(|e| e["processingModel"] == "installment"));
    assert_eq!(ledger[0]["sequence"], "first");

    let sub = h.store().subscription(sub.id).await.unwrap();
    assert_eq!(sub.status, "completed");
    assert!(sub.next_due_at.is_none());
}
