//! Postgres access. Every query takes "now" as a bind parameter (time is injected), and every
//! multi-row change that must be all-or-nothing runs in one transaction.

pub mod accounts;
mod attempts;
pub mod card_update;
pub mod charges;
pub mod claim_writes;
pub mod claims;
pub mod credential;
pub mod dunning_end;
pub mod events;
mod forecast;
pub mod gauges;
pub mod idempotency;
pub mod import;
pub mod initialization;
pub mod lifecycle;
pub mod listing;
pub mod materialize;
mod nodelay;
mod notices;
pub mod outbox;
pub mod outcomes;
pub mod preclaim;
pub mod reconcile;
pub mod recording;
pub mod recovery;
pub mod registration;
pub mod registration_answers;
mod reinitialize;
pub mod resume;
pub mod retention;
pub mod sends;
pub mod series;
pub mod subscriptions;
mod time;

pub use time::{db_min, from_db, from_db_local, storable, to_db, to_db_local};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::{DatabaseSettings, mask_url_password};

/// Migrations are compiled into the binary, so a deployed daemon needs no SQL files.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// `status = 'due'` for statements that address one charge (or a list of them) by id, spelled
/// so that it implies no partial index's predicate. Statistics taken while no charge was open
/// make every partial index on open charges look like one row; with `status = 'due'` the
/// planner may then prefer scanning such an index whole over the primary key, and each
/// by-id write costs a pass over the open queue — quadratic over a tick. With this spelling
/// the primary key is the only index that fits. A macro, so SQL constants can `concat!` it.
macro_rules! charge_is_due {
    () => {
        "status <> ALL ('{approved,failed,held,skipped,cancelled,imported}')"
    };
}
pub(crate) use charge_is_due;

/// A charge is open — its cycle not settled — while it is due or held: a subscription's later
/// cycle waits for it. A macro, so SQL constants can `concat!` it.
macro_rules! charge_is_open {
    () => {
        "status <> ALL ('{approved,failed,skipped,cancelled,imported}')"
    };
}
pub(crate) use charge_is_open;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
    /// Where webhook events are delivered: each event written gets one delivery per endpoint,
    /// in the same transaction. Empty: events are recorded, not delivered.
    webhooks: std::sync::Arc<[String]>,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Store {
            pool,
            webhooks: std::sync::Arc::new([]),
        }
    }

    /// The same store, delivering the webhook events it writes to `endpoints`.
    pub fn with_webhooks(mut self, endpoints: Vec<String>) -> Self {
        let mut unique: Vec<String> = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        self.webhooks = unique.into();
        self
    }

    pub fn webhook_endpoints(&self) -> &[String] {
        &self.webhooks
    }

    /// Connects eagerly, so an unreachable database is reported at start, naming the URL
    /// (password masked) and the cause.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .after_connect(|_, _| {
                Box::pin(async {
                    nodelay::on_all_tcp_sockets();
                    Ok(())
                })
            })
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout.get())
            .connect(&settings.url)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot connect to the database at {}: {e}",
                    mask_url_password(&settings.url)
                )
            })?;
        Ok(Store::new(pool))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))
    }
}

impl Store {
    /// The database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Every migration this binary carries is applied, and nothing else is.
    /// Whether every migration this binary knows is applied. Migrations newer than the binary
    /// do not count against it: in a rolling upgrade the database is migrated first and each
    /// migration is compatible with the binary still running, which must stay ready meanwhile.
    pub async fn migrations_current(&self) -> Result<bool, StoreError> {
        Ok(!matches!(
            self.schema_drift().await?,
            Some(SchemaDrift::Older { .. })
        ))
    }

    /// How the database's schema differs from this binary's migrations, in words that name the
    /// command to run; `None` when they match. A database never migrated has every migration
    /// pending.
    pub async fn schema_drift(&self) -> Result<Option<SchemaDrift>, StoreError> {
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        .or_else(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(Vec::new()),
            _ => Err(e),
        })?;
        let known: Vec<i64> = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .collect();
        let pending: Vec<i64> = known
            .iter()
            .filter(|v| !applied.contains(v))
            .copied()
            .collect();
        let unknown: Vec<i64> = applied
            .iter()
            .filter(|v| !known.contains(v))
            .copied()
            .collect();
        Ok(if !unknown.is_empty() {
            Some(SchemaDrift::Newer { unknown })
        } else if !pending.is_empty() {
            Some(SchemaDrift::Older { pending })
        } else {
            None
        })
    }
}

/// How a database's schema differs from this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaDrift {
    /// Migrations of this binary not yet applied.
    Older { pending: Vec<i64> },
    /// Migrations applied that this binary does not know (a newer billingd migrated it).
    Newer { unknown: Vec<i64> },
}

impl std::fmt::Display for SchemaDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaDrift::Newer { unknown } => write!(
                f,
                "the database schema is newer than this billingd (migrations {unknown:?} are \
                 unknown to it): use the billingd version that migrated it"
            ),
            SchemaDrift::Older { pending } => write!(
                f,
                "the database schema is older than this billingd ({} migration(s) pending, first \
                 {}): run `billingd migrate` first",
                pending.len(),
                pending.first().copied().unwrap_or_default()
            ),
        }
    }
}
