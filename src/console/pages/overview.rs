//! The overview: charges of today and the last 7 days by outcome, the next 30 days' expected
//! charges, and what needs a person: suspended accounts, failed charges, failing webhook
//! deliveries, open reconciliation findings.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

use super::super::Console;
use super::super::forecast::{self, Billable};
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use super::attention::{self, DeliveryRow, FailedRow, FindingRow, SuspendedRow};
use crate::domain::schedule::Schedule;
use crate::store::{StoreError, from_db_local, to_db};

/// The forecast reads at most this many subscriptions (the soonest due); the page says so
/// when there are more.
const FORECAST_LIMIT: i64 = 20_000;
const DAYS: usize = 30;

pub struct ForecastRow {
    pub day: String,
    pub currency: String,
    pub count: u64,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct Overview {
    layout: Layout,
    today: Vec<(String, i64)>,
    week: Vec<(String, i64)>,
    chart: String,
    forecast: Vec<ForecastRow>,
    forecast_truncated: bool,
    suspended: Vec<SuspendedRow>,
    failed: Vec<FailedRow>,
    deliveries: Vec<DeliveryRow>,
    findings: Vec<FindingRow>,
}

pub async fn page(State(c): State<Console>, session: Session) -> Response {
    match load(&c, &session).await {
        Ok(page) => render::page(StatusCode::OK, &page),
        Err(e) => render::store_failure(&c, &session, e),
    }
}

async fn load(c: &Console, session: &Session) -> Result<Overview, StoreError> {
    let now = c.api.clock.now();
    let day_start = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .timestamp();
    let tomorrow = day_start
        .checked_add(SignedDuration::from_hours(24))
        .unwrap_or(now);
    let week_start = day_start
        .checked_sub(SignedDuration::from_hours(24 * 6))
        .unwrap_or(day_start);
    let (chart, forecast, forecast_truncated) = next_days(c, now).await?;
    Ok(Overview {
        layout: Layout::new(c, Some(session), "Overview"),
        today: outcomes(c, day_start, tomorrow).await?,
        week: outcomes(c, week_start, tomorrow).await?,
        chart,
        forecast,
        forecast_truncated,
        suspended: attention::suspended(c).await?,
        failed: attention::failed(c).await?,
        deliveries: attention::deliveries(c).await?,
        findings: attention::findings(c).await?,
    })
}

/// Charges falling due in `[from, to)`, counted by their state.
async fn outcomes(
    c: &Console,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM charges WHERE due_at >= $1 AND due_at < $2 \
         GROUP BY status ORDER BY status",
    )
    .bind(to_db(from))
    .bind(to_db(to))
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct BillableRow {
    anchor_local: chrono::NaiveDateTime,
    time_zone: String,
    interval_unit: String,
    interval_count: i32,
    total_cycles: Option<i32>,
    next_cycle: i32,
    amount_minor: i64,
    currency: String,
}

impl BillableRow {
    fn billable(self) -> Option<Billable> {
        let schedule = Schedule::new(
            from_db_local(self.anchor_local),
            &self.time_zone,
            self.interval_unit.parse().ok()?,
            u32::try_from(self.interval_count).ok()?,
            self.total_cycles.and_then(|t| u32::try_from(t).ok()),
        )
        .ok()?;
        Some(Billable {
            schedule,
            next_cycle: u32::try_from(self.next_cycle).ok()?,
            amount_minor: self.amount_minor,
            currency: self.currency,
        })
    }
}

/// The next 30 days from the subscriptions that will bill (active, not ending at period end).
async fn next_days(
    c: &Console,
    now: Timestamp,
) -> Result<(String, Vec<ForecastRow>, bool), StoreError> {
    let to = now
        .checked_add(SignedDuration::from_hours(24 * DAYS as i64))
        .unwrap_or(now);
    let rows: Vec<BillableRow> = sqlx::query_as(
        "SELECT anchor_local, time_zone, interval_unit, interval_count, total_cycles, next_cycle, \
         amount_minor, currency FROM subscriptions \
         WHERE status = 'active' AND NOT cancel_at_period_end AND next_due_at < $1 \
         ORDER BY next_due_at LIMIT $2",
    )
    .bind(to_db(to))
    .bind(FORECAST_LIMIT)
    .fetch_all(c.api.store.pool())
    .await?;
    let truncated = rows.len() as i64 == FORECAST_LIMIT;
    let billables: Vec<Billable> = rows.into_iter().filter_map(BillableRow::billable).collect();
    let days = forecast::expected(&billables, now, to);
    let mut counts: BTreeMap<jiff::civil::Date, u64> = BTreeMap::new();
    let rows = days
        .into_iter()
        .map(|((day, currency), total)| {
            *counts.entry(day).or_default() += total.count;
            ForecastRow {
                day: day.to_string(),
                amount: format::money(total.amount_minor, &currency),
                currency,
                count: total.count,
            }
        })
        .collect();
    let first = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    Ok((forecast::svg(first, DAYS, &counts), rows, truncated))
}
