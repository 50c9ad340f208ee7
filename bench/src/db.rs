//! Scratch databases: created from the admin URL, migrated by `billingd migrate` itself, seeded
//! with SQL (generate_series), reset between runs, and asked for EXPLAINs and results.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use crate::sim::{TERMINAL, Token};

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

/// A request body shaped like the one billingd writes on each charge (for seeded history).
const HISTORY_BODY: &str = "json_build_object('channel', 'web', 'processingTerminalId', '3204001', \
    'order', json_build_object('orderId', left(replace(x.cid::text, '-', ''), 16) || '-1', \
      'amount', s.amount_minor, 'currency', s.currency, 'standingInstructions', \
      json_build_object('sequence', 'subsequent', 'processingModel', 'recurring', \
        'referenceDataOfFirstTxn', json_build_object('paymentId', 'K3T9QX8JW2', \
          'cardSchemeReferenceId', 'MCC1234567890'))), \
    'paymentMethod', json_build_object('type', 'secureToken', 'token', '296753000000000000'))::text";

pub struct Scratch {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let mut u = reqwest::Url::parse(url).context("parsing the admin database URL")?;
    u.set_path(db);
    Ok(u.to_string())
}

pub async fn connect(url: &str, max: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max)
        .connect(url)
        .await
        .with_context(|| format!("connecting to {}", mask(url)))
}

pub fn mask(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Scratch {
    /// A fresh database `name` (dropped first if it exists), migrated by `billingd migrate`.
    pub async fn create(
        admin: &PgPool,
        admin_url: &str,
        name: &str,
        billingd: &Path,
    ) -> anyhow::Result<Scratch> {
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(admin)
        .await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin)
            .await?;
        let url = with_database(admin_url, name)?;
        let out = Command::new(billingd)
            .arg("migrate")
            .env("BILLINGD_DATABASE__URL", &url)
            .env_remove("BILLINGD_CONFIG")
            .output()
            .context("running billingd migrate")?;
        if !out.status.success() {
            bail!(
                "billingd migrate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pool = connect(&url, 4).await?;
        // An experiment hook (e.g. an index under consideration), applied after the migrations.
        if let Ok(extra) = std::env::var("BENCH_EXTRA_SQL")
            && !extra.trim().is_empty()
        {
            sqlx::raw_sql(AssertSqlSafe(extra))
                .execute(&pool)
                .await
                .context("BENCH_EXTRA_SQL")?;
        }
        Ok(Scratch {
            name: name.to_owned(),
            url,
            pool,
        })
    }

    pub async fn drop_database(self, admin: &PgPool) -> anyhow::Result<()> {
        self.pool.close().await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(admin)
        .await?;
        Ok(())
    }

    /// One active Payroc account per token, and the approved first payment made on it
    /// (`bench_first_payments`, the bench's own table): every subscription seeded on the
    /// account continues a series opened by that payment, so the bench measures subsequent
    /// payments. (A real agreement has a first payment of its own; the simulator checks only
    /// that the first payment was approved on the same token, and one sale per token keeps the
    /// set-up short.)
    pub async fn insert_accounts(&self, tokens: &[Token]) -> anyhow::Result<()> {
        let col = |f: fn(&Token) -> &String| tokens.iter().map(f).cloned().collect::<Vec<_>>();
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS bench_first_payments (account_id uuid PRIMARY KEY, \
               payment_id text NOT NULL, scheme_reference text)",
        )
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "WITH u AS (SELECT gen_random_uuid() AS id, sid, tok, pid, sref \
               FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS u(sid, tok, pid, sref)), \
             a AS (INSERT INTO payment_accounts (id, gateway, state, payroc_terminal_id, \
               payroc_secure_token_id, payroc_token, card_masked, card_expiry, created_at, updated_at) \
               SELECT id, 'payroc', 'active', $1, sid, tok, '453985******7062', '1230', now(), now() \
               FROM u) \
             INSERT INTO bench_first_payments SELECT id, pid, sref FROM u",
        )
        .bind(TERMINAL)
        .bind(col(|t| &t.secure_token_id))
        .bind(col(|t| &t.token))
        .bind(col(|t| &t.first_payment_id))
        .bind(col(|t| &t.scheme_reference))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `count` active subscriptions spread round-robin over the accounts. Subscription i
    /// (0-based) has its next cycle due at `first_due + i * step_s` (UNIX seconds), every 30
    /// days in UTC (exact arithmetic, so the seeded due time is the one billingd computes),
    /// with `history` cycles before it (charged: see `seed_history`). Amount 1500: no trigger.
    pub async fn seed_subscriptions(
        &self,
        count: u64,
        first_due: f64,
        step_s: f64,
        history: u32,
    ) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("SET synchronous_commit = off")
            .execute(&mut *conn)
            .await?;
        const CHUNK: u64 = 250_000;
        let mut from = 0;
        while from < count {
            let to = (from + CHUNK).min(count);
            sqlx::query(
                "WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM payment_accounts), \
                 d AS (SELECT i, to_timestamp($3 + i * $4) AS due FROM generate_series($1::bigint, $2::bigint - 1) i) \
                 INSERT INTO subscriptions (id, account_id, amount_minor, currency, anchor_local, \
                   time_zone, interval_unit, interval_count, status, next_cycle, next_due_at, \
                   series_payment_id, series_scheme_reference, series_processing_model, \
                   created_at, updated_at) \
                 SELECT gen_random_uuid(), x.account_id, 1500, 'USD', \
                   (d.due AT TIME ZONE 'UTC') - make_interval(days => 30 * $5), 'UTC', 'day', 30, \
                   'active', $5 + 1, d.due, f.payment_id, f.scheme_reference, 'recurring', now(), now() \
                 FROM d, a, LATERAL (SELECT a.ids[1 + d.i % cardinality(a.ids)] AS account_id) x \
                 JOIN bench_first_payments f ON f.account_id = x.account_id",
            )
            .bind(from as i64)
            .bind(to as i64)
            .bind(first_due)
            .bind(step_s)
            .bind(history as i32)
            .execute(&mut *conn)
            .await?;
            from = to;
        }
        Ok(())
    }

    /// `history` approved charges per subscription (cycles before its next one), each with its
    /// request body and one approved attempt: the charge and attempt tables of a daemon that
    /// has been billing for `history` periods. 16 slices, by the first hex digit of the id.
    pub async fn seed_history(&self, history: u32, progress: bool) -> anyhow::Result<()> {
        if history == 0 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("SET synchronous_commit = off")
            .execute(&mut *conn)
            .await?;
        let started = Instant::now();
        for (n, digit) in "0123456789abcdef".chars().enumerate() {
            sqlx::query(AssertSqlSafe(format!(
                "WITH ins AS ( \
                   INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
                     currency, processing_model, is_last, status, attempt_no, idempotency_key, \
                     order_id, sequence, request_body, next_attempt_at, last_outcome, \
                     gateway_payment_id, created_at, settled_at) \
                   SELECT x.cid, s.id, s.account_id, c, x.due, s.amount_minor, s.currency, \
                     'recurring', false, 'approved', 1, gen_random_uuid(), \
                     left(replace(x.cid::text, '-', ''), 16) || '-1', \
                     CASE WHEN c = 1 THEN 'first' ELSE 'subsequent' END, {HISTORY_BODY}, x.due, \
                     'approved', upper(left(md5(x.cid::text), 10)), x.due, x.due + interval '1 second' \
                   FROM subscriptions s \
                   CROSS JOIN generate_series(1, s.next_cycle - 1) c \
                   CROSS JOIN LATERAL (SELECT gen_random_uuid() AS cid, \
                     (s.anchor_local + make_interval(days => 30 * (c - 1))) AT TIME ZONE 'UTC' AS due) x \
                   WHERE left(s.id::text, 1) = '{digit}' \
                   RETURNING id, idempotency_key, order_id, sequence, due_at, gateway_payment_id, \
                     amount_minor) \
                 INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, \
                   order_id, sequence, sent_at, finished_at, http_status, outcome, gateway_payment_id, \
                   gateway_status, response_code, processor_response_code, response_message, \
                   approval_code, authorized_amount, scheme_reference) \
                 SELECT id, 1, 1, idempotency_key, order_id, sequence, due_at, \
                   due_at + interval '180 ms', 201, 'approved', gateway_payment_id, 'ready', 'A', \
                   '00', 'APPROVAL', 'A1B2C3', amount_minor, 'MCC1234567890' FROM ins"
            )))
            .execute(&mut *conn)
            .await?;
            if progress {
                eprintln!(
                    "bench:   history slice {}/16 done ({:.0} s)",
                    n + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(())
    }

    /// Statistics and visibility maps up to date, dirty pages written: every run starts alike.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
        sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    /// Back to "nothing billed yet": no charges, attempts or events; every subscription at its
    /// seeded cycle again.
    pub async fn reset_billing(&self) -> anyhow::Result<()> {
        sqlx::raw_sql(
            "TRUNCATE charge_attempts, charges, webhook_attempts, webhook_deliveries, webhook_events; \
             UPDATE subscriptions SET status = 'active', next_cycle = 1, \
               next_due_at = anchor_local AT TIME ZONE 'UTC', updated_at = now();",
        )
        .execute(&self.pool)
        .await?;
        self.settle().await
    }

    /// (approved, all) charges.
    pub async fn charge_counts(&self) -> anyhow::Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'approved'), count(*) FROM charges",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Requests billingd logged as sent (`charge_attempts`), and charges sent more than once.
    pub async fn attempt_counts(&self) -> anyhow::Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT count(*), (SELECT count(*) FROM (SELECT charge_id FROM charge_attempts \
               GROUP BY charge_id HAVING count(*) > 1) d) FROM charge_attempts",
        )
        .fetch_one(&self.pool)
        .await?)
    }

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
        let window = limit as i64; // as claim_charges_from: a window the size of the claim
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

    /// Requests logged as sent so far.
    pub async fn attempts(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM charge_attempts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Subscriptions still waiting for their seeded cycle (nothing materialized yet).
    pub async fn subscriptions_due_later(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM subscriptions WHERE status = 'active' AND next_cycle = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }
}

/// Commits in the scratch database and WAL written by the whole cluster, at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub commits: i64,
    pub wal_bytes: f64,
}

impl Scratch {
    /// Read after the measured process (and so its connections) ended: backends flush their
    /// statistics when they exit.
    pub async fn counters(&self) -> anyhow::Result<Counters> {
        let (commits, wal_bytes): (i64, f64) = sqlx::query_as(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
               pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counters { commits, wal_bytes })
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

/// The cluster's data directory (for the postmaster's pid) and version.
pub async fn server_info(admin: &PgPool) -> anyhow::Result<(String, String)> {
    let (dir,): (String,) = sqlx::query_as("SELECT current_setting('data_directory')")
        .fetch_one(admin)
        .await
        .unwrap_or((String::new(),));
    let (version,): (String,) = sqlx::query_as("SELECT current_setting('server_version')")
        .fetch_one(admin)
        .await?;
    Ok((dir, version))
}

/// Samples what the database's backends are doing every 10 ms until `stop` turns true: a
/// profile of database time by statement (what pg_stat_statements would give, without
/// needing it preloaded). Returns (samples taken, counts per "statement [wait event]").
pub async fn sample_activity(
    url: String,
    database: String,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(u64, Vec<(String, u64)>)> {
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
            statement_label(&due_scan_sql()),
            "materialize_due: due scan"
        );
    }
}
