//! Due times come from the anchor and the subscription's zone, charged as they fall due.

use crate::support::*;
use billingd::domain::schedule::IntervalUnit;
use billingd::store::from_db;

#[tokio::test]
async fn a_month_end_anchor_is_charged_on_each_months_last_day_for_a_year() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let sub = h
        .subscription(
            &account,
            999,
            "2027-01-31T09:00",
            "America/New_York",
            IntervalUnit::Month,
            None,
        )
        .await;

    // Wake up every day of the year, as a daemon would (coarser than its ticks, same effect).
    h.clock.set(ts("2027-01-30T00:00:00Z"));
    for _ in 0..370 {
        h.run().await;
        h.advance_days(1);
    }

    let charges = h.charges(&sub).await;
    let local: Vec<String> = charges
        .iter()
        .map(|c| {
            from_db(c.due_at)
                .in_tz("America/New_York")
                .unwrap()
                .datetime()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
        "2027-12-31",
        "2028-01-31",
    ]
    .iter()
    .map(|d| format!("{d}T09:00:00"))
    .collect();
    assert_eq!(local, expected);
    assert!(charges.iter().all(|c| c.status == "approved"));
    assert_eq!(h.ledger().await.len(), 13);
}

#[tokio::test]
async fn a_wall_time_in_a_dst_gap_is_charged_an_hour_later() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    // Europe/Paris springs forward on 2027-03-28 at 02:00 → 03:00.
    let sub = h
        .subscription(
            &account,
            700,
            "2027-03-27T02:30",
            "Europe/Paris",
            IntervalUnit::Day,
            Some(3),
        )
        .await;
    h.clock.set(ts("2027-03-27T00:00:00Z"));
    let mut seen = Vec::new();
    for _ in 0..(4 * 24 * 4) {
        let s = h.run().await;
        if s.approved > 0 {
            seen.push(h.now());
        }
        h.clock.advance(jiff::SignedDuration::from_mins(15));
    }
    let due: Vec<String> = h
        .charges(&sub)
        .await
        .iter()
        .map(|c| from_db(c.due_at).to_string())
        .collect();
    assert_eq!(
        due,
        [
            "2027-03-27T01:30:00Z",
            "2027-03-28T01:30:00Z",
            "2027-03-29T00:30:00Z"
        ],
        "02:30 CET, 03:30 CEST (shifted by the gap), 02:30 CEST"
    );
    // Each charge went out on the first tick at or after its due time, not before.
    let sent: Vec<String> = seen.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        sent,
        [
            "2027-03-27T01:30:00Z",
            "2027-03-28T01:30:00Z",
            "2027-03-29T00:30:00Z"
        ]
    );
}
