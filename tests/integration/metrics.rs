//! `/metrics` after real billing: outcome counters and gateway latency recorded by the sends,
//! backlog gauges read from this test's database at scrape time.
//!
//! The recorder is process-wide and other tests bill in parallel: counters and histograms are
//! compared with a scrape taken before this test's run and must have grown by at least what it
//! did. Gauges are set from the scraping App's own database, so they are exact.

use crate::support::*;

/// The value of one series (`name{labels}` exactly as rendered), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a sample value"))
}

fn outcome(text: &str, outcome: &str) -> f64 {
    let series =
        format!(r#"billingd_charge_outcomes_total{{gateway="payroc",outcome="{outcome}"}}"#);
    value(text, &series).unwrap_or(0.0)
}

async fn scrape(h: &Harness) -> String {
    let addr = h.app.api_addr().expect("API enabled in tests");
    let response = h
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_show_outcomes_latency_and_the_backlog_of_this_database() {
    let mut h = Harness::start().await;
    let _api = h.app.start_api().expect("API started");
    let approved = h.account(CARD_OK).await;
    let soft = h.account(CARD_OK).await;
    let pickup = h.account(CARD_OK).await;
    h.monthly(&approved, 1000, "2027-01-01T00:00").await;
    // Amount …01: soft decline (05), retried after `soft_decline_retries[0]` = 1 day.
    h.monthly(&soft, 1001, "2027-01-01T00:00").await;
    // Amount …43: pickup → card account terminated → account suspended.
    h.monthly(&pickup, 1043, "2027-01-01T00:00").await;

    let before = scrape(&h).await;
    assert_eq!(value(&before, "billingd_charges_due"), Some(3.0));
    assert_eq!(value(&before, "billingd_oldest_due_age_seconds"), Some(0.0));
    assert_eq!(value(&before, "billingd_accounts_suspended"), Some(0.0));

    let run = h.run().await;
    assert_eq!(
        (run.sent, run.approved, run.suspended),
        (3, 1, 1),
        "{run:?}"
    );

    let after = scrape(&h).await;
    for (name, kind) in [
        ("billingd_charge_outcomes_total", "counter"),
        ("billingd_gateway_request_duration_seconds", "histogram"),
        ("billingd_gateway_requests_in_flight", "gauge"),
        ("billingd_billing_run_duration_seconds", "histogram"),
        ("billingd_billing_runs_total", "counter"),
        ("billingd_charges_due", "gauge"),
        ("billingd_oldest_due_age_seconds", "gauge"),
        ("billingd_accounts_suspended", "gauge"),
    ] {
        let help = format!("# HELP {name} ");
        assert!(
            after.lines().any(|l| l.starts_with(&help)),
            "HELP {name}:\n{after}"
        );
        let type_line = format!("# TYPE {name} {kind}");
        assert!(
            after.lines().any(|l| l == type_line),
            "{type_line}:\n{after}"
        );
    }
    for which in ["approved", "declined_soft", "account_terminated"] {
        assert!(
            outcome(&after, which) >= outcome(&before, which) + 1.0,
            "{which}: {} then {}",
            outcome(&before, which),
            outcome(&after, which)
        );
    }
    let sales =
        r#"billingd_gateway_request_duration_seconds_count{gateway="payroc",operation="sale"}"#;
    assert!(
        value(&after, sales).unwrap() >= value(&before, sales).unwrap_or(0.0) + 3.0,
        "three sales timed"
    );
    let runs = |text: &str| value(text, "billingd_billing_runs_total").unwrap_or(0.0);
    assert!(runs(&after) >= runs(&before) + 1.0);
    assert!(
        value(
            &after,
            r#"billingd_gateway_requests_in_flight{gateway="payroc"}"#
        )
        .is_some()
    );

    // Just after the run nothing is due: the soft decline waits a day, the approved
    // subscription a month, the suspended account's charge is held.
    assert_eq!(value(&after, "billingd_charges_due"), Some(0.0), "{after}");
    assert_eq!(value(&after, "billingd_oldest_due_age_seconds"), Some(0.0));
    assert_eq!(value(&after, "billingd_accounts_suspended"), Some(1.0));

    // A day and 6 h later: the retry has been due for 6 h, and a subscription created since,
    // anchored 18 h ago, has a cycle not yet materialized. Both are backlog; the age is the
    // older one's.
    let late = h.account(CARD_OK).await;
    h.monthly(&late, 1500, "2027-01-01T12:00").await;
    h.clock.set(ts("2027-01-02T06:00:00Z"));
    let backlog = scrape(&h).await;
    assert_eq!(
        value(&backlog, "billingd_charges_due"),
        Some(2.0),
        "{backlog}"
    );
    assert_eq!(
        value(&backlog, "billingd_oldest_due_age_seconds"),
        Some(18.0 * 3600.0)
    );
    assert_eq!(value(&backlog, "billingd_accounts_suspended"), Some(1.0));
}
