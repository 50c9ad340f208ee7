//! What the report shows of a scratch database: table sizes, EXPLAINs of billingd's own
//! statements, scheduling latency; and the copy and re-ANALYZE of experiment 4b.

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use super::{Scratch, connect, with_database};

/// The statements the bench EXPLAINs are billingd's own, as compiled into this build of its
/// library: `billingd::store` exports them for this purpose.
use billingd::store::claims::{CLAIM_SQL, CLAIM_WINDOW_SQL};
use billingd::store::materialize::due_scan_sql;

/// What `materialize_due` writes for every due subscription (one cycle each here): a `due`
/// charge with a fresh key and orderId.
const MATERIALIZE_SQL: &str = "INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, \
       amount_minor, currency, processing_model, is_last, status, idempotency_key, order_id, \
       next_attempt_at, created_at) \
     SELECT x.cid, s.id, s.account_id, s.next_cycle, s.next_due_at, s.amount_minor, s.currency, \
       'recurring', false, 'due', gen_random_uuid(), \
       left(replace(x.cid::text, '-', ''), 16) || '-1', s.next_due_at, now() \
     FROM subscriptions s CROSS JOIN LATERAL (SELECT gen_random_uuid() AS cid, s.id AS sid) x \
     WHERE s.status = 'active' AND s.next_due_at <= now()";

impl Scratch {
    /// Rows and total size (table + indexes + TOAST) of the tables that grow.
    pub async fn table_sizes(&self) -> anyhow::Result<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT c.relname::text, c.reltuples::bigint, pg_total_relation_size(c.oid) \
             FROM pg_class c WHERE c.relname IN ('subscriptions', 'charges', 'charge_attempts', \
               'webhook_events') AND c.relkind = 'r' ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// EXPLAIN (ANALYZE, BUFFERS) of billingd's due scan with its default batch, at the
    /// current state (rolled back: nothing is locked or changed).
    pub async fn explain_due_scan(&self, batch: u32) -> anyhow::Result<String> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE due_scan(timestamptz, bigint) AS {}",
            due_scan_sql()
        )))
        .execute(&mut conn)
        .await?;
        let plan = explain(&mut conn, &format!("EXECUTE due_scan(now(), {batch})")).await?;
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await?;
        conn.close().await?;
        Ok(plan)
    }

    /// EXPLAIN (ANALYZE, BUFFERS) of billingd's claim of `limit` charges — its first window of
    /// the queue, then the claim among that window — in a transaction that is rolled back; with
    /// `materialize`, first (in it) every due subscription's cycle becomes a `due` charge as
    /// `materialize_due` writes it: the first claim of a tick.
    pub async fn explain_claim(&self, limit: u32, materialize: bool) -> anyhow::Result<String> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        if materialize {
            sqlx::raw_sql(MATERIALIZE_SQL).execute(&mut conn).await?;
        }
        let window = limit as i64; // as billing's claim (claim_and_write): a window the size of the claim
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE claim_window(timestamptz, timestamptz, timestamptz, uuid, bigint) AS {CLAIM_WINDOW_SQL}"
        )))
        .execute(&mut conn)
        .await?;
        let first = "EXECUTE claim_window(now(), '-infinity', '-infinity', \
                     '00000000-0000-0000-0000-000000000000', ";
        let mut plan = explain(&mut conn, &format!("{first}{window})")).await?;
        let start = billingd::store::db_min();
        let rows: Vec<(
            uuid::Uuid,
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
        )> = sqlx::query_as(CLAIM_WINDOW_SQL)
            .bind(chrono::Utc::now())
            .bind(start)
            .bind(start)
            .bind(uuid::Uuid::nil())
            .bind(window)
            .fetch_all(&mut conn)
            .await?;
        let ids: Vec<uuid::Uuid> = rows.into_iter().map(|r| r.0).collect();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE claim(timestamptz, bigint, uuid, timestamptz, uuid[]) AS {CLAIM_SQL}"
        )))
        .execute(&mut conn)
        .await?;
        let ids = ids
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        plan.push_str(&format!(
            "\n  -- then the claim among those {window} charges:\n"
        ));
        plan.push_str(
            &explain(
                &mut conn,
                &format!(
                    "EXECUTE claim(now(), {limit}, '{}', now() + interval '5 minutes', '{{{ids}}}')",
                    uuid::Uuid::new_v4()
                ),
            )
            .await?,
        );
        sqlx::raw_sql("ROLLBACK").execute(&mut conn).await?;
        conn.close().await?;
        Ok(plan)
    }

    /// The experiment of figure 4b: what billingd's materialization would write (every due
    /// cycle a `due` charge, each subscription advanced a cycle), committed, then
    /// `ANALYZE charges`, so the claims that follow are planned with statistics that know
    /// about the open charges.
    pub async fn materialize_and_analyze(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        sqlx::raw_sql(MATERIALIZE_SQL).execute(&mut conn).await?;
        sqlx::raw_sql(
            "UPDATE subscriptions SET next_cycle = next_cycle + 1, \
               next_due_at = next_due_at + interval '30 days', updated_at = now() \
             WHERE status = 'active' AND next_due_at <= now()",
        )
        .execute(&mut conn)
        .await?;
        sqlx::raw_sql("COMMIT").execute(&mut conn).await?;
        sqlx::raw_sql("ANALYZE charges").execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    /// A copy of this database (CREATE DATABASE … TEMPLATE); this one's pool is reopened.
    pub async fn copy(
        &mut self,
        admin: &PgPool,
        admin_url: &str,
        name: &str,
    ) -> anyhow::Result<Scratch> {
        self.pool.close().await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(admin)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {}",
            self.name
        )))
        .execute(admin)
        .await?;
        self.pool = connect(&self.url, 4).await?;
        let url = with_database(admin_url, name)?;
        Ok(Scratch {
            name: name.to_owned(),
            pool: connect(&url, 4).await?,
            url,
        })
    }

    /// Scheduling latency of every charge: due time → its first request logged as sent.
    /// Returns (charges, not sent, p50, p99, max of due→sent; p50, p99 of the part after the
    /// heartbeat that picked it up: sent − the first tick ≥ due), in milliseconds.
    pub async fn sched_latency(
        &self,
        tick_s: f64,
        arrivals: &[(String, f64)],
    ) -> anyhow::Result<SchedLatency> {
        type Row = (
            i64,
            i64,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
        );
        // Sent = when the first request for the charge's orderId reached the simulator (the
        // attempt row is written a little earlier, when its batch is written down).
        let orders: Vec<&str> = arrivals.iter().map(|a| a.0.as_str()).collect();
        let at_ms: Vec<f64> = arrivals.iter().map(|a| a.1).collect();
        let row: Row = sqlx::query_as(
            "WITH arrived AS (SELECT * FROM unnest($2::text[], $3::float8[]) AS a(order_id, ms)), \
                 l AS ( \
                   SELECT a.ms - extract(epoch FROM c.due_at) * 1000 AS ms, \
                          a.ms - ceil(extract(epoch FROM c.due_at) / $1) * $1 * 1000 AS after_tick_ms \
                   FROM charges c JOIN arrived a ON a.order_id = c.order_id) \
                 SELECT (SELECT count(*) FROM charges), \
                   (SELECT count(*) FROM charges c WHERE NOT EXISTS \
                     (SELECT 1 FROM arrived a WHERE a.order_id = c.order_id)), \
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), \
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms), \
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY after_tick_ms), \
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY after_tick_ms) \
                 FROM l",
        )
        .bind(tick_s)
        .bind(&orders)
        .bind(&at_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(SchedLatency {
            charges: row.0,
            unsent: row.1,
            p50_ms: row.2.unwrap_or(f64::NAN),
            p99_ms: row.3.unwrap_or(f64::NAN),
            max_ms: row.4.unwrap_or(f64::NAN),
            after_tick_p50_ms: row.5.unwrap_or(f64::NAN),
            after_tick_p99_ms: row.6.unwrap_or(f64::NAN),
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SchedLatency {
    pub charges: i64,
    pub unsent: i64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub after_tick_p50_ms: f64,
    pub after_tick_p99_ms: f64,
}

async fn explain(conn: &mut PgConnection, statement: &str) -> anyhow::Result<String> {
    let rows: Vec<(String,)> = sqlx::query_as(AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS) {statement}"
    )))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(l,)| l)
        .collect::<Vec<_>>()
        .join("\n"))
}
