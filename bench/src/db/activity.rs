//! A profile of database time by statement: pg_stat_activity sampled during a run.

use sqlx::{Connection, PgConnection};

/// Samples taken, and how many saw a backend in each "statement [wait event]", most first.
pub type Profile = (u64, Vec<(String, u64)>);

/// Samples what the database's backends are doing every 10 ms until `stop` turns true: a
/// profile of database time by statement (what pg_stat_statements would give, without
/// needing it preloaded). Returns (samples taken, counts per "statement [wait event]").
pub async fn sample_activity(
    url: String,
    database: String,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Profile> {
    let mut conn = PgConnection::connect(&url).await?;
    let mut counts = std::collections::HashMap::<String, u64>::new();
    let mut samples = 0;
    while !*stop.borrow() {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT state, regexp_replace(left(query, 400), '\\s+', ' ', 'g'), \
               wait_event_type || ':' || wait_event \
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend' AND state <> 'idle'",
        )
        .bind(&database)
        .fetch_all(&mut conn)
        .await?;
        samples += 1;
        for (state, query, wait) in rows {
            let what = statement_label(&query);
            let key = match (state.as_str(), wait) {
                ("active", Some(w)) => format!("{what} [{w}]"),
                ("active", None) => what,
                (other, _) => format!("({other}) after {what}"),
            };
            *counts.entry(key).or_default() += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.1));
    Ok((samples, out))
}

/// A short, recognizable name for one of billingd's statements.
fn statement_label(query: &str) -> String {
    let q = query.trim();
    let known = [
        (
            "WITH candidates AS",
            "claim_charges (CTE + UPDATE … RETURNING)",
        ),
        (
            "SELECT c.id, c.next_attempt_at, c.due_at FROM charges c",
            "claim: queue window (SELECT)",
        ),
        (
            "WITH w AS MATERIALIZED (SELECT c.id, c.next_attempt_at",
            "claim: queue window with its charges (SELECT)",
        ),
        (
            "WITH offered AS (SELECT * FROM unnest(",
            "claim_and_write (CTE + UPDATE charges + INSERT charge_attempts)",
        ),
        (
            "WITH finished AS (UPDATE charge_attempts",
            "record_outcomes: one statement (attempts, approvals, events)",
        ),
        (
            "WITH i AS (SELECT * FROM unnest(",
            "start_sends (UPDATE charges + INSERT charge_attempts)",
        ),
        (
            "UPDATE charge_attempts t SET finished_at",
            "record_outcomes: finish attempts (UPDATE … FROM unnest)",
        ),
        (
            "UPDATE charges c SET status = 'approved'",
            "record_outcomes: approve (UPDATE … FROM unnest)",
        ),
        ("UPDATE charges c SET lease_owner = NULL", "release_unsent"),
        (
            "UPDATE charges SET lease_owner = NULL",
            "one_opening_per_account release",
        ),
        (
            "UPDATE charges SET request_body",
            "fix_request (UPDATE charges)",
        ),
        (
            "INSERT INTO charge_attempts",
            "start_send (INSERT charge_attempts)",
        ),
        (
            "UPDATE charge_attempts SET finished_at",
            "finish_attempt (UPDATE charge_attempts)",
        ),
        (
            "SELECT id FROM charges WHERE id = $1 AND lease_owner",
            "record_outcome: lease check (SELECT … FOR UPDATE)",
        ),
        (
            "UPDATE charges SET status = 'approved'",
            "record_outcome: approve (UPDATE charges)",
        ),
        (
            "INSERT INTO webhook_events",
            "record_outcome: outbox (INSERT webhook_events)",
        ),
        (
            "SELECT id, account_id, amount_minor",
            "materialize_due: due scan",
        ),
        ("INSERT INTO charges", "materialize_due: INSERT charges"),
        (
            "UPDATE subscriptions s SET next_cycle",
            "materialize_due: advance subscriptions",
        ),
        (
            "WITH due AS (",
            "peer: enqueue (claim, advance, INSERT charges, add_jobs)",
        ),
        ("SELECT request_body", "peer job: read the charge"),
        (
            "WITH done AS (",
            "peer job: record (UPDATE charges + INSERT charge_attempts)",
        ),
        ("COMMIT", "COMMIT"),
        ("BEGIN", "BEGIN"),
    ];
    for (prefix, label) in known {
        if q.starts_with(prefix) {
            return label.to_owned();
        }
    }
    q.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use billingd::store::claim_writes::{CLAIM_WRITE_SQL, WINDOW_CHARGES_SQL};
    use billingd::store::claims::{CLAIM_SQL, CLAIM_WINDOW_SQL};
    use billingd::store::materialize::due_scan_sql;
    use billingd::store::recording::RECORD_BATCH_SQL;

    #[test]
    fn statements_are_labelled() {
        assert_eq!(
            statement_label(CLAIM_WINDOW_SQL),
            "claim: queue window (SELECT)"
        );
        assert_eq!(
            statement_label(CLAIM_SQL),
            "claim_charges (CTE + UPDATE … RETURNING)"
        );
        assert_eq!(
            statement_label(WINDOW_CHARGES_SQL),
            "claim: queue window with its charges (SELECT)"
        );
        assert_eq!(
            statement_label(CLAIM_WRITE_SQL),
            "claim_and_write (CTE + UPDATE charges + INSERT charge_attempts)"
        );
        assert_eq!(
            statement_label(RECORD_BATCH_SQL),
            "record_outcomes: one statement (attempts, approvals, events)"
        );
        assert_eq!(
            statement_label(&due_scan_sql()),
            "materialize_due: due scan"
        );
    }
}
