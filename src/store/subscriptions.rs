//! Subscriptions: what to charge, to which account, on which calendar.

use crate::domain::states::AccountState;
use crate::domain::states::GatewayKind;
use crate::domain::states::SubscriptionStatus;
use chrono::{DateTime, NaiveDateTime, Utc};
use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::{Store, StoreError, from_db_local, to_db, to_db_local};
use crate::domain::import::ImportedCycles;
use crate::domain::materialize::{CatchUp, CatchUpOverride};
use crate::domain::money::Money;
use crate::domain::position::ProcessingModel;
use crate::domain::schedule::{IntervalUnit, Schedule};
use crate::domain::series::FirstPayment;

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Subscription {
    pub id: Uuid,
    pub account_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub anchor_local: NaiveDateTime,
    pub time_zone: String,
    pub interval_unit: String,
    pub interval_count: i32,
    pub total_cycles: Option<i32>,
    pub status: SubscriptionStatus,
    pub next_cycle: i32,
    pub next_due_at: Option<DateTime<Utc>>,
    pub merchant_reference: Option<String>,
    pub metadata: serde_json::Value,
    pub cancel_at_period_end: bool,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    /// The subscription's stored-credential series: its first payment, the card network's
    /// reference for it and its processing model; all None until one is opened.
    pub series_payment_id: Option<String>,
    pub series_scheme_reference: Option<String>,
    pub series_processing_model: Option<String>,
    /// When the series was last closed (the account's credential re-initialized).
    pub series_closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its own catch-up (`all` | `latest`) and cap; None follows the daemon's.
    #[sqlx(try_from = "Option<String>")]
    pub catch_up: StoredCatchUp,
    pub catch_up_max_cycles: Option<i32>,
}

/// A stored catch-up mode, read from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct StoredCatchUp(pub Option<CatchUp>);

impl TryFrom<Option<String>> for StoredCatchUp {
    type Error = String;
    fn try_from(text: Option<String>) -> Result<Self, String> {
        match text.as_deref() {
            None => Ok(StoredCatchUp(None)),
            Some("all") => Ok(StoredCatchUp(Some(CatchUp::All))),
            Some("latest") => Ok(StoredCatchUp(Some(CatchUp::Latest))),
            Some(other) => Err(format!("{other:?} is not a catch-up mode")),
        }
    }
}

/// A catch-up mode as stored.
pub(super) fn catch_up_text(mode: CatchUp) -> &'static str {
    match mode {
        CatchUp::All => "all",
        CatchUp::Latest => "latest",
    }
}

impl Subscription {
    /// The subscription's own catch-up, as the materialize plan takes it.
    pub fn catch_up_override(&self) -> CatchUpOverride {
        CatchUpOverride {
            mode: self.catch_up.0,
            max_cycles: self.catch_up_max_cycles.map(|n| n.max(1) as u32),
        }
    }

    /// Rebuilds the calendar the subscription was created with.
    pub fn schedule(&self) -> Result<Schedule, StoreError> {
        stored_schedule(StoredSchedule {
            subscription: self.id,
            anchor_local: self.anchor_local,
            time_zone: &self.time_zone,
            interval_unit: &self.interval_unit,
            interval_count: self.interval_count,
            total_cycles: self.total_cycles,
        })
    }
}

/// A subscription's schedule columns, as stored.
pub(super) struct StoredSchedule<'a> {
    pub subscription: Uuid,
    pub anchor_local: NaiveDateTime,
    pub time_zone: &'a str,
    pub interval_unit: &'a str,
    pub interval_count: i32,
    pub total_cycles: Option<i32>,
}

/// Rebuilds a stored schedule; a row that no longer makes one is an error naming it.
pub(super) fn stored_schedule(s: StoredSchedule<'_>) -> Result<Schedule, StoreError> {
    let invalid = |e: String| StoreError::Invalid(format!("subscription {}: {e}", s.subscription));
    let unit: IntervalUnit = s
        .interval_unit
        .parse()
        .map_err(|e| invalid(format!("{e}")))?;
    Schedule::new(
        from_db_local(s.anchor_local),
        s.time_zone,
        unit,
        s.interval_count as u32,
        s.total_cycles.map(|t| t as u32),
    )
    .map_err(|e| invalid(e.to_string()))
}

pub struct NewSubscription {
    pub account_id: Uuid,
    pub price: Money,
    pub schedule: Schedule,
    pub merchant_reference: Option<String>,
    pub metadata: serde_json::Value,
    /// An agreement's existing series, continued by this subscription (a merchant migrating
    /// agreements whose first payment was made elsewhere). None: the first charge opens one.
    pub series: Option<FirstPayment>,
    /// Taken over from another system: the cycles it billed (recorded as `imported`) and the
    /// cycle billing starts at. None: billing starts at cycle 1.
    pub imported: Option<ImportedCycles>,
    /// Its own catch-up after downtime or a suspension; unset parts follow the daemon's.
    pub catch_up: CatchUpOverride,
}

pub(crate) const COLUMNS: &str = "id, account_id, amount_minor, currency, anchor_local, time_zone, \
     interval_unit, interval_count, total_cycles, status, next_cycle, next_due_at, \
     merchant_reference, metadata, cancel_at_period_end, cancelled_at, paused_at, \
     series_payment_id, series_scheme_reference, series_processing_model, series_closed_at, \
     created_at, updated_at, catch_up, catch_up_max_cycles";

impl Store {
    pub async fn insert_subscription(
        &self,
        new: &NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        let mut tx = self.pool.begin().await?;
        let sub = self.insert_in(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(sub)
    }

    /// Inserts a subscription (and the cycles it brings as `imported`) in the caller's
    /// transaction.
    pub(super) async fn insert_in(
        &self,
        tx: &mut sqlx::PgConnection,
        new: &NewSubscription,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        let account = self.account(new.account_id).await?;
        if account.state == AccountState::Closed {
            return Err(StoreError::Conflict(format!(
                "payment account {} is closed",
                account.id
            )));
        }
        if new.series.is_some() && account.gateway != GatewayKind::Payroc {
            return Err(StoreError::Invalid(format!(
                "payment account {} is a {} account: only a Payroc subscription continues a series",
                account.id, account.gateway
            )));
        }
        let (next_cycle, next_due) = match &new.imported {
            Some(imported) => (imported.next_cycle, imported.next_due),
            None => (
                1,
                new.schedule
                    .due_at(1)
                    .ok_or_else(|| StoreError::Invalid("the schedule has no first cycle".into()))?,
            ),
        };
        // A subscription on a suspended account waits, held, for the account's re-initialization.
        let status = if account.state == AccountState::Suspended {
            SubscriptionStatus::Held
        } else {
            SubscriptionStatus::Active
        };
        let sub = insert_row(tx, new, status, (next_cycle, next_due), now).await?;
        if let Some(imported) = &new.imported {
            insert_imported(tx, &sub, imported, now).await?;
        }
        Ok(sub)
    }

    pub async fn subscription(&self, id: Uuid) -> Result<Subscription, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM subscriptions WHERE id = $1");
        sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "subscription",
                id: id.to_string(),
            })
    }

    /// Replaces a subscription's own catch-up (None parts follow the daemon's).
    pub async fn set_catch_up(
        &self,
        id: Uuid,
        own: CatchUpOverride,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let updated: Option<Uuid> = sqlx::query_scalar(
            "UPDATE subscriptions SET catch_up = $2, catch_up_max_cycles = $3, updated_at = $4 \
             WHERE id = $1 RETURNING id",
        )
        .bind(id)
        .bind(own.mode.map(catch_up_text))
        .bind(own.max_cycles.map(|n| n as i32))
        .bind(to_db(now))
        .fetch_optional(&self.pool)
        .await?;
        updated.map(drop).ok_or_else(|| StoreError::NotFound {
            what: "subscription",
            id: id.to_string(),
        })
    }

    pub async fn subscriptions_of(
        &self,
        account_id: Uuid,
    ) -> Result<Vec<Subscription>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM subscriptions WHERE account_id = $1 ORDER BY created_at, id"
        );
        Ok(sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

async fn insert_row(
    tx: &mut sqlx::PgConnection,
    new: &NewSubscription,
    status: SubscriptionStatus,
    (next_cycle, next_due): (u32, Timestamp),
    now: Timestamp,
) -> Result<Subscription, StoreError> {
    let sql = format!(
        "INSERT INTO subscriptions (id, account_id, amount_minor, currency, anchor_local, \
         time_zone, interval_unit, interval_count, total_cycles, status, next_cycle, next_due_at, \
         merchant_reference, metadata, series_payment_id, series_scheme_reference, \
         series_processing_model, created_at, updated_at, catch_up, catch_up_max_cycles) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $18, $11, $12, $14, $15, $16, $17, \
         $13, $13, $19, $20) RETURNING {COLUMNS}"
    );
    let s = &new.schedule;
    // A continued series is taken to be of the plan's model: the merchant vouches for it.
    let model = ProcessingModel::of_plan(s.total_cycles());
    let series_model = new.series.as_ref().map(|_| model.as_str());
    Ok(sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
        .bind(Uuid::new_v4())
        .bind(new.account_id)
        .bind(new.price.amount_minor)
        .bind(new.price.currency.as_str())
        .bind(to_db_local(s.anchor()))
        .bind(s.time_zone_name())
        .bind(s.unit().as_str())
        .bind(s.count() as i32)
        .bind(s.total_cycles().map(|t| t as i32))
        .bind(status)
        .bind(to_db(next_due))
        .bind(&new.merchant_reference)
        .bind(to_db(now))
        .bind(&new.metadata)
        .bind(new.series.as_ref().map(|f| &f.payment_id))
        .bind(
            new.series
                .as_ref()
                .and_then(|f| f.scheme_reference.as_ref()),
        )
        .bind(series_model)
        .bind(next_cycle as i32)
        .bind(new.catch_up.mode.map(catch_up_text))
        .bind(new.catch_up.max_cycles.map(|n| n as i32))
        .fetch_one(&mut *tx)
        .await?)
}

/// The cycles another system billed, as `imported` charges: settled, never sent, so the
/// (subscription, cycle) key keeps billingd from billing them.
async fn insert_imported(
    tx: &mut sqlx::PgConnection,
    sub: &Subscription,
    imported: &ImportedCycles,
    now: Timestamp,
) -> Result<(), StoreError> {
    let total = sub.total_cycles;
    let model = ProcessingModel::of_plan(total.map(|t| t as u32));
    let (cycles, dues): (Vec<i32>, Vec<DateTime<Utc>>) = imported
        .billed
        .iter()
        .map(|(c, at)| (*c as i32, to_db(*at)))
        .unzip();
    sqlx::query(
        "INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
           currency, processing_model, is_last, status, attempt_no, idempotency_key, order_id, \
           next_attempt_at, created_at, settled_at) \
         SELECT gen_random_uuid(), $1, $2, u.cycle, u.due, $3, $4, $5, COALESCE(u.cycle = $6, false), 'imported', \
           0, gen_random_uuid(), 'imported', u.due, $7, $7 \
         FROM UNNEST($8::int[], $9::timestamptz[]) AS u(cycle, due)",
    )
    .bind(sub.id)
    .bind(sub.account_id)
    .bind(sub.amount_minor)
    .bind(&sub.currency)
    .bind(model.as_str())
    .bind(total)
    .bind(to_db(now))
    .bind(&cycles)
    .bind(&dues)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
