//! Scratch databases: created from the admin URL, migrated by `billingd migrate` itself, seeded
//! with SQL (generate_series), reset between runs, and asked for EXPLAINs and results.

mod activity;
mod inspect;
mod seed;

pub use activity::{Profile, sample_activity};
pub use inspect::SchedLatency;

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use crate::sim::{TERMINAL, Token};

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
    /// The database URL of replica `i`: its connections named `replica-<i>`, so each replica's
    /// share can be read off pg_stat_activity.
    pub fn replica_url(&self, i: u32) -> anyhow::Result<String> {
        let mut u = reqwest::Url::parse(&self.url)?;
        u.query_pairs_mut()
            .append_pair("application_name", &format!("replica-{i}"));
        Ok(u.to_string())
    }

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

    /// Statistics and visibility maps up to date, dirty pages written: every run starts alike.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
        sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    /// Back to "nothing billed yet": no charges, attempts, events or reconciliation findings
    /// (they refer to charges); every subscription at its seeded cycle again.
    pub async fn reset_billing(&self) -> anyhow::Result<()> {
        sqlx::raw_sql(
            "TRUNCATE charge_attempts, charges, webhook_attempts, webhook_deliveries, webhook_events, \
               reconciliation_findings, reconciliation_turns; \
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

/// The server settings that matter most to the figures, as (name, value with unit).
pub async fn pg_conf(admin: &PgPool) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN \
         ('shared_buffers', 'synchronous_commit', 'max_wal_size', 'work_mem') ORDER BY name",
    )
    .fetch_all(admin)
    .await?)
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
