//! /v1/forecast: what the whole book will charge over the next days, per day and currency,
//! from the same schedules that bill (see `domain::forecast`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::extract::ApiQuery;
use super::problem::{ApiError, ApiResult, Problem};
use crate::domain::forecast::ForecastDay;
use crate::store::to_db;

/// The longest forecast: a year and a day, so a yearly plan shows its next charge.
pub const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(forecast))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// How many days ahead, 1–366, default 30.
    #[param(minimum = 1, maximum = 366)]
    days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Forecast {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Charges expected per UTC day and currency, by date; days without charges are left out.
    pub days: Vec<ForecastDayView>,
    /// The sums over the whole forecast, per currency.
    pub totals: Vec<ForecastTotal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastDayView {
    /// UTC date, `YYYY-MM-DD`. Cycles already due and not yet charged count on the first day.
    #[schema(example = "2026-12-07")]
    pub date: String,
    pub currency: String,
    pub charges: u64,
    /// In minor units of the currency.
    pub amount_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastTotal {
    pub currency: String,
    pub charges: u64,
    pub amount_minor: i64,
}

/// Expected charges of the active book: the cycles of active subscriptions on active accounts,
/// and open charges at their next attempt. Paused, past-due, held and cancelled subscriptions
/// and suspended accounts charge nothing until they are resumed, so they are not counted.
#[utoipa::path(get, path = "/v1/forecast", tag = "forecast",
    params(ForecastQuery),
    responses((status = 200, body = Forecast), (status = 422, body = Problem)))]
async fn forecast(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Json<Forecast>> {
    let days = q.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            "days",
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let from = state.clock.now();
    let until = from
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .map_err(|e| ApiError::invalid("days", e.to_string()))?;
    let found = state.store.forecast(from, until).await?;
    Ok(Json(view(found, to_db(from), to_db(until))))
}

pub fn view(found: Vec<ForecastDay>, from: DateTime<Utc>, until: DateTime<Utc>) -> Forecast {
    let mut totals: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for d in &found {
        let t = totals.entry(d.currency.clone()).or_default();
        t.0 += d.charges;
        t.1 = t.1.saturating_add(d.amount_minor);
    }
    Forecast {
        from,
        until,
        days: found
            .into_iter()
            .map(|d| ForecastDayView {
                date: d.date.to_string(),
                currency: d.currency,
                charges: d.charges,
                amount_minor: d.amount_minor,
            })
            .collect(),
        totals: totals
            .into_iter()
            .map(|(currency, (charges, amount_minor))| ForecastTotal {
                currency,
                charges,
                amount_minor,
            })
            .collect(),
    }
}
