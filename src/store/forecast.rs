//! Loads what the forecast needs — active subscriptions whose next cycle falls due before the
//! horizon, and open charges waiting for an attempt — streaming, so a book of a million
//! subscriptions is summed without holding it in memory. The sums are `domain::forecast`'s.

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::TryStreamExt;
use jiff::Timestamp;

use super::subscriptions::{StoredSchedule, stored_schedule};
use super::{Store, StoreError, from_db, to_db};
use crate::domain::forecast::{Forecast, ForecastDay, PlannedSubscription};
use crate::domain::schedule::Schedule;

#[derive(sqlx::FromRow)]
struct PlannedRow {
    id: uuid::Uuid,
    anchor_local: NaiveDateTime,
    time_zone: String,
    interval_unit: String,
    interval_count: i32,
    total_cycles: Option<i32>,
    next_cycle: i32,
    amount_minor: i64,
    currency: String,
    cancel_at_period_end: bool,
}

/// Only active subscriptions on active accounts bill; `subscriptions_due` serves the range.
const PLANNED: &str = "SELECT s.id, s.anchor_local, s.time_zone, s.interval_unit, \
       s.interval_count, s.total_cycles, s.next_cycle, s.amount_minor, s.currency, \
       s.cancel_at_period_end \
     FROM subscriptions s JOIN payment_accounts a ON a.id = s.account_id \
     WHERE s.status = 'active' AND s.next_due_at < $1 AND a.state = 'active'";

/// Open charges of active subscriptions on active accounts, at their next attempt.
const OPEN: &str = "SELECT c.next_attempt_at, c.amount_minor, c.currency \
     FROM charges c JOIN subscriptions s ON s.id = c.subscription_id \
       JOIN payment_accounts a ON a.id = c.account_id \
     WHERE c.status = 'due' AND c.next_attempt_at < $1 \
       AND s.status = 'active' AND a.state = 'active'";

impl Store {
    /// Charges and amounts per UTC day and currency over `[from, until)`.
    pub async fn forecast(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ForecastDay>, StoreError> {
        let mut forecast = Forecast::new(from, until);
        let mut rows = sqlx::query_as::<_, PlannedRow>(PLANNED)
            .bind(to_db(until))
            .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let schedule = planned_schedule(&row)?;
            forecast.add_subscription(&PlannedSubscription {
                schedule: &schedule,
                next_cycle: row.next_cycle.max(1) as u32,
                amount_minor: row.amount_minor,
                currency: &row.currency,
                cancel_at_period_end: row.cancel_at_period_end,
            });
        }
        let mut open = sqlx::query_as::<_, (DateTime<Utc>, i64, String)>(OPEN)
            .bind(to_db(until))
            .fetch(&self.pool);
        while let Some((at, amount, currency)) = open.try_next().await? {
            forecast.add_charge(from_db(at), amount, &currency);
        }
        Ok(forecast.days())
    }
}

fn planned_schedule(row: &PlannedRow) -> Result<Schedule, StoreError> {
    stored_schedule(StoredSchedule {
        subscription: row.id,
        anchor_local: row.anchor_local,
        time_zone: &row.time_zone,
        interval_unit: &row.interval_unit,
        interval_count: row.interval_count,
        total_cycles: row.total_cycles,
    })
}
