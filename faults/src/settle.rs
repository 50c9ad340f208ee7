//! The end of the load phase: wait until the replicas have nothing left to do.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::log;

/// Waits until nothing is left to do: no subscription with a cycle due and not yet a charge,
/// no open charge on an active account and subscription, no charge whose request is written
/// down but not completed, no live lease. Checked twice, a second apart.
pub async fn settle(db: &PgPool, timeout: Duration) -> (bool, String) {
    let started = Instant::now();
    let mut last = String::new();
    let mut quiet_since: Option<Instant> = None;
    let mut next_note = Instant::now() + Duration::from_secs(10);
    while started.elapsed() < timeout {
        let row: Result<(i64, i64, i64, i64), _> = sqlx::query_as(
            "SELECT \
               (SELECT count(*) FROM subscriptions WHERE status = 'active' AND next_due_at <= now()), \
               (SELECT count(*) FROM charges c JOIN payment_accounts a ON a.id = c.account_id \
                  JOIN subscriptions s ON s.id = c.subscription_id \
                  WHERE c.status = 'due' AND a.state = 'active' AND s.status = 'active' \
                    AND c.request_body IS NULL), \
               (SELECT count(*) FROM charges WHERE status = 'due' AND request_body IS NOT NULL), \
               (SELECT count(*) FROM charges WHERE lease_expires_at > now())",
        )
        .fetch_one(db)
        .await;
        match row {
            Ok((unmaterialized, open, written, leased)) => {
                last = format!(
                    "{unmaterialized} cycles not materialized, {open} charges open, \
                     {written} written down and not completed, {leased} leased"
                );
                if unmaterialized + open + written + leased == 0 {
                    match quiet_since {
                        Some(t) if t.elapsed() >= Duration::from_secs(1) => return (true, last),
                        Some(_) => {}
                        None => quiet_since = Some(Instant::now()),
                    }
                } else {
                    quiet_since = None;
                }
            }
            Err(e) => last = format!("database: {e}"),
        }
        if Instant::now() > next_note {
            log(&format!("settling: {last}"));
            next_note += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (false, last)
}
