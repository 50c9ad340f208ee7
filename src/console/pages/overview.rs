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
use super::super::forecast;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use super::attention::{self, DeliveryRow, FailedRow, FindingRow, SuspendedRow};
use crate::store::{StoreError, to_db};

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
    let (chart, forecast) = next_days(c, now).await?;
    Ok(Overview {
        layout: Layout::new(c, Some(session), "Overview"),
        today: outcomes(c, day_start, tomorrow).await?,
        week: outcomes(c, week_start, tomorrow).await?,
        chart,
        forecast,
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

/// The next 30 days: the book's forecast (`Store::forecast`, the same as `GET /v1/forecast`),
/// per UTC day and currency, and the chart of charges per day.
async fn next_days(c: &Console, now: Timestamp) -> Result<(String, Vec<ForecastRow>), StoreError> {
    let to = now
        .checked_add(SignedDuration::from_hours(24 * DAYS as i64))
        .unwrap_or(now);
    let days = c.api.store.forecast(now, to).await?;
    let mut counts: BTreeMap<jiff::civil::Date, u64> = BTreeMap::new();
    let rows = days
        .into_iter()
        .map(|d| {
            *counts.entry(d.date).or_default() += d.charges;
            ForecastRow {
                day: d.date.to_string(),
                amount: format::money(d.amount_minor, &d.currency),
                currency: d.currency,
                count: d.charges,
            }
        })
        .collect();
    let first = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    Ok((forecast::svg(first, DAYS, &counts), rows))
}
