//! Prometheus metrics. Billing records counters and histograms as things happen (outcomes,
//! gateway latency, runs); the backlog gauges are read from the database at scrape time, so
//! every replica reports the same numbers for the shared database.
//!
//! There is one recorder per process. `install` also makes it the global `metrics` recorder, but
//! billingd's own metrics are always recorded into it directly: if something else installed a
//! global recorder first (a library, a test harness), `/metrics` still shows all of billingd's
//! metrics, and only third-party `metrics` calls end up elsewhere. Several `App`s in one process
//! (tests, replicas) therefore share the counters; each scrape sets the gauges from the database
//! of the `App` that serves it.

use jiff::Timestamp;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::store::gauges::BillingGauges;
use crate::store::{Store, StoreError};

/// Gateway answers recorded on charges; labels `gateway`, `outcome` (`Outcome::as_str`).
pub const CHARGE_OUTCOMES: &str = "billingd_charge_outcomes_total";
/// Time of one gateway request; labels `gateway`, `operation` (`sale`, `lookup`).
pub const GATEWAY_REQUEST_DURATION: &str = "billingd_gateway_request_duration_seconds";
/// Gateway requests awaiting an answer; label `gateway`.
pub const GATEWAY_REQUESTS_IN_FLIGHT: &str = "billingd_gateway_requests_in_flight";
/// Time of one complete billing run.
pub const BILLING_RUN_DURATION: &str = "billingd_billing_run_duration_seconds";
/// Answers written per recording transaction (the group commit's batch size).
pub const RECORD_BATCH_SIZE: &str = "billingd_record_batch_size";
/// Completed billing runs.
pub const BILLING_RUNS: &str = "billingd_billing_runs_total";
/// New reconciliation findings; labels `gateway`, `kind` (`FindingKind::as_str`).
pub const RECONCILIATION_FINDINGS: &str = "billingd_reconciliation_findings_total";
/// Scrape time: what a billing run now would work on.
pub const CHARGES_DUE: &str = "billingd_charges_due";
/// Scrape time: how long the oldest due item has been waiting.
pub const OLDEST_DUE_AGE: &str = "billingd_oldest_due_age_seconds";
/// Scrape time: suspended accounts.
pub const ACCOUNTS_SUSPENDED: &str = "billingd_accounts_suspended";

/// Payment APIs answer in a few hundred milliseconds and time out after `request_timeout`
/// (30 s by default).
const GATEWAY_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0];
/// An idle run takes milliseconds; a big catch-up minutes (bounded by the lease in practice).
const RUN_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// One answer per commit when the gateway is slow; hundreds under a fast one.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

struct Exporter {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The scrape-time gauges are process-wide series, but each `App` sets them from its own
    /// database: setting and rendering under one lock keeps a scrape's gauges its own.
    scrape: Mutex<()>,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

fn exporter() -> &'static Exporter {
    EXPORTER.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(GATEWAY_REQUEST_DURATION.into()),
                GATEWAY_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(BILLING_RUN_DURATION.into()), RUN_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(RECORD_BATCH_SIZE.into()), BATCH_BUCKETS)
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe_all);
        // Histogram samples are buffered until drained; a daemon nobody scrapes must not grow
        // them forever. A plain thread: it outlives any one tokio runtime (tests have many).
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics upkeep thread not started; scrapes still drain");
        }
        Exporter {
            recorder,
            handle,
            scrape: Mutex::new(()),
        }
    })
}

fn describe_all() {
    describe_counter!(
        CHARGE_OUTCOMES,
        Unit::Count,
        "Gateway answers recorded on charges, by gateway and outcome (an unknown answer counts once its same-key resends are used up; a pending payment counts again when looked up)."
    );
    describe_counter!(
        RECONCILIATION_FINDINGS,
        Unit::Count,
        "Reconciliation findings stored by this process, by gateway and kind (a finding found again, by a later run or another replica, is not counted again)."
    );
    describe_histogram!(
        GATEWAY_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of gateway requests (every send and resend of a sale, every lookup), by gateway and operation."
    );
    describe_gauge!(
        GATEWAY_REQUESTS_IN_FLIGHT,
        Unit::Count,
        "Gateway requests sent by this process and not yet answered, by gateway."
    );
    describe_histogram!(
        BILLING_RUN_DURATION,
        Unit::Seconds,
        "Duration of completed billing runs (materialize, claim, send, record)."
    );
    describe_histogram!(
        RECORD_BATCH_SIZE,
        Unit::Count,
        "Gateway answers recorded per database transaction (answers that arrive while one batch commits are written together)."
    );
    describe_counter!(
        BILLING_RUNS,
        Unit::Count,
        "Billing runs completed by this process (a run that fails is logged, not counted)."
    );
    describe_gauge!(
        CHARGES_DUE,
        Unit::Count,
        "Due backlog at scrape time: open charges whose retry time has come on active accounts and subscriptions, plus active subscriptions with a due cycle not yet materialized."
    );
    describe_gauge!(
        OLDEST_DUE_AGE,
        Unit::Seconds,
        "Seconds since the oldest item of the due backlog became due (0 when nothing is due)."
    );
    describe_gauge!(
        ACCOUNTS_SUSPENDED,
        Unit::Count,
        "Payment accounts suspended because the gateway reported the card account terminated."
    );
}

/// Records into billingd's recorder, whichever recorder is global.
fn record<T>(f: impl FnOnce() -> T) -> T {
    metrics::with_local_recorder(&exporter().recorder, f)
}

/// Makes billingd's recorder the process's global `metrics` recorder. Idempotent; if another
/// recorder is global already, says so once and carries on (billingd's metrics are unaffected).
pub fn install() {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let global = metrics::set_global_recorder(&exporter().recorder).is_ok();
        if !global {
            tracing::warn!(
                "another metrics recorder is installed globally; /metrics shows billingd's own metrics only"
            );
        }
        global
    });
}

/// One gateway answer recorded on a charge.
pub fn record_outcome(gateway: &str, outcome: &'static str) {
    record(|| counter!(CHARGE_OUTCOMES, "gateway" => gateway.to_owned(), "outcome" => outcome))
        .increment(1);
}

/// One new reconciliation finding.
pub fn reconciliation_finding(gateway: &str, kind: &'static str) {
    record(|| counter!(RECONCILIATION_FINDINGS, "gateway" => gateway.to_owned(), "kind" => kind))
        .increment(1);
}

/// The duration of one gateway request (`operation`: `sale` or `lookup`).
pub fn observe_gateway(gateway: &str, operation: &'static str, duration: Duration) {
    record(|| {
        histogram!(GATEWAY_REQUEST_DURATION, "gateway" => gateway.to_owned(), "operation" => operation)
    })
    .record(duration.as_secs_f64());
}

/// The duration of one completed billing run; counts the run.
pub fn observe_run(duration: Duration) {
    record(|| {
        histogram!(BILLING_RUN_DURATION).record(duration.as_secs_f64());
        counter!(BILLING_RUNS).increment(1);
    });
}

/// The size of one recording transaction.
pub fn observe_record_batch(answers: usize) {
    record(|| histogram!(RECORD_BATCH_SIZE).record(answers as f64));
}

/// Counts a gateway request as in flight until dropped, so a request abandoned midway (shutdown,
/// a cancelled task) is not counted forever.
#[must_use = "the request counts as in flight only while the guard lives"]
pub struct InFlight(metrics::Gauge);

impl InFlight {
    pub fn start(gateway: &str) -> InFlight {
        let gauge = record(|| gauge!(GATEWAY_REQUESTS_IN_FLIGHT, "gateway" => gateway.to_owned()));
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The exposition text for one scrape: the gauges read from `store` at `now`, then everything
/// this process recorded.
pub async fn render(store: &Store, now: Timestamp) -> Result<String, StoreError> {
    let gauges = store.billing_gauges(now).await?;
    Ok(render_with(&gauges, now))
}

fn render_with(gauges: &BillingGauges, now: Timestamp) -> String {
    let exporter = exporter();
    let _scrape = exporter
        .scrape
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let oldest_age = gauges
        .oldest_due_at
        .map(|due| (now.as_millisecond() - due.as_millisecond()).max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    record(|| {
        gauge!(CHARGES_DUE).set(gauges.charges_due as f64);
        gauge!(OLDEST_DUE_AGE).set(oldest_age);
        gauge!(ACCOUNTS_SUSPENDED).set(gauges.accounts_suspended as f64);
    });
    exporter.handle.render()
}

#[cfg(test)]
mod tests {
    //! The recorder is process-wide and tests run in parallel: each test uses a gateway label of
    //! its own, and asserts `>=` on series it cannot own.

    use super::*;

    fn lines_of<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(name)).collect()
    }

    fn value_of(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.parse().expect("a number"))
    }

    fn scrape() -> String {
        render_with(&BillingGauges::default(), Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn outcome_counters_carry_gateway_and_outcome_labels_and_help() {
        install();
        install(); // idempotent
        record_outcome("unit_a", "approved");
        record_outcome("unit_a", "approved");
        record_outcome("unit_a", "declined_soft");
        let text = scrape();
        assert!(
            text.contains("# HELP billingd_charge_outcomes_total Gateway answers recorded"),
            "{text}"
        );
        assert!(text.contains("# TYPE billingd_charge_outcomes_total counter\n"));
        assert_eq!(
            value_of(
                &text,
                r#"billingd_charge_outcomes_total{gateway="unit_a",outcome="approved"}"#
            ),
            Some(2.0),
            "{:?}",
            lines_of(&text, CHARGE_OUTCOMES)
        );
        assert_eq!(
            value_of(
                &text,
                r#"billingd_charge_outcomes_total{gateway="unit_a",outcome="declined_soft"}"#
            ),
            Some(1.0)
        );
    }

    #[test]
    fn gateway_latency_is_a_histogram_with_payment_api_buckets() {
        observe_gateway("unit_b", "sale", Duration::from_millis(200));
        observe_gateway("unit_b", "sale", Duration::from_secs(3));
        observe_gateway("unit_b", "lookup", Duration::from_millis(40));
        let text = scrape();
        assert!(text.contains("# HELP billingd_gateway_request_duration_seconds Duration"));
        assert!(text.contains("# TYPE billingd_gateway_request_duration_seconds histogram\n"));
        let bucket = |op: &str, le: &str| {
            value_of(
                &text,
                &format!(
                    r#"billingd_gateway_request_duration_seconds_bucket{{gateway="unit_b",operation="{op}",le="{le}"}}"#
                ),
            )
        };
        assert_eq!(bucket("sale", "0.1"), Some(0.0));
        assert_eq!(bucket("sale", "0.25"), Some(1.0));
        assert_eq!(bucket("sale", "5"), Some(2.0));
        assert_eq!(bucket("sale", "30"), Some(2.0));
        assert_eq!(bucket("sale", "+Inf"), Some(2.0));
        assert_eq!(bucket("lookup", "0.05"), Some(1.0));
        let series = r#"{gateway="unit_b",operation="sale"}"#;
        assert_eq!(
            value_of(
                &text,
                &format!("billingd_gateway_request_duration_seconds_count{series}")
            ),
            Some(2.0)
        );
        let sum = value_of(
            &text,
            &format!("billingd_gateway_request_duration_seconds_sum{series}"),
        )
        .unwrap();
        assert!((sum - 3.2).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn in_flight_counts_until_the_guard_drops() {
        let series = r#"billingd_gateway_requests_in_flight{gateway="unit_c"}"#;
        let first = InFlight::start("unit_c");
        let second = InFlight::start("unit_c");
        let text = scrape();
        assert!(text.contains("# TYPE billingd_gateway_requests_in_flight gauge\n"));
        assert_eq!(value_of(&text, series), Some(2.0));
        drop(first);
        assert_eq!(value_of(&scrape(), series), Some(1.0));
        drop(second);
        assert_eq!(value_of(&scrape(), series), Some(0.0));
    }

    #[test]
    fn runs_are_counted_and_timed() {
        observe_run(Duration::from_millis(30));
        let text = scrape();
        assert!(text.contains("# HELP billingd_billing_runs_total Billing runs completed"));
        assert!(text.contains("# TYPE billingd_billing_runs_total counter\n"));
        assert!(value_of(&text, BILLING_RUNS).unwrap() >= 1.0);
        assert!(text.contains("# TYPE billingd_billing_run_duration_seconds histogram\n"));
        assert!(
            value_of(
                &text,
                r#"billingd_billing_run_duration_seconds_bucket{le="0.05"}"#
            )
            .is_some_and(|n| n >= 1.0)
        );
        assert!(value_of(&text, "billingd_billing_run_duration_seconds_count").unwrap() >= 1.0);
    }

    #[test]
    fn scrape_time_gauges_come_from_the_values_read() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let gauges = BillingGauges {
            charges_due: 7,
            oldest_due_at: Some("2027-03-01T11:59:00.5Z".parse().unwrap()),
            accounts_suspended: 2,
        };
        let text = render_with(&gauges, now);
        for name in [CHARGES_DUE, OLDEST_DUE_AGE, ACCOUNTS_SUSPENDED] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
            assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name}");
        }
        assert_eq!(value_of(&text, CHARGES_DUE), Some(7.0));
        assert_eq!(value_of(&text, OLDEST_DUE_AGE), Some(59.5));
        assert_eq!(value_of(&text, ACCOUNTS_SUSPENDED), Some(2.0));

        // Nothing due: the age is 0, not the age of a stale value.
        let text = render_with(&BillingGauges::default(), now);
        assert_eq!(value_of(&text, CHARGES_DUE), Some(0.0));
        assert_eq!(value_of(&text, OLDEST_DUE_AGE), Some(0.0));
    }
}
