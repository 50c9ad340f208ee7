//! Bulk import of subscriptions taken over from another system: `POST /v1/imports` and
//! `billingd import FILE`. Every row is checked as `POST /v1/subscriptions` checks one; a dry
//! run reports each row and what the accepted ones will charge in the next 30 days. A real run
//! is all or nothing per file: one bad row imports nothing, so the merchant fixes the file and
//! runs it again — and rows whose merchant reference exists already are skipped, so running a
//! file again never creates anything twice.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::extract::{ApiQuery, BodyLimit, read_body};
use super::forecast::ForecastDayView;
pub use super::import_file::ImportFormat;
use super::import_file::{ReadRow, read};
use super::problem::{ApiError, ApiResult, FieldError, Problem};
use super::subscriptions::new_subscription;
use crate::domain::forecast::{Forecast, PlannedSubscription};
use crate::store::import::ImportedRow;
use crate::store::subscriptions::NewSubscription;
use crate::store::{Store, to_db};

/// The report covers what the accepted rows will charge over this many days.
const FORECAST_DAYS: i64 = 30;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(import))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `jsonl` (default) or `csv`.
    format: Option<ImportFormat>,
    /// true: check and report, write nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether this run wrote the file's new subscriptions (never on a dry run, never when a
    /// row was rejected).
    pub imported: bool,
    pub accepted: usize,
    /// Rows whose merchant reference exists already: skipped.
    pub existing: usize,
    pub rejected: usize,
    pub rows: Vec<RowReport>,
    /// What the accepted rows will charge over the next 30 days, per UTC day and currency.
    pub next_30_days: Vec<ForecastDayView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowReport {
    /// The row's line in the file (1 is the first line; a CSV header is line 1).
    pub line: u64,
    pub merchant_reference: Option<String>,
    /// `accepted` (dry run), `created`, `exists`, or `rejected`.
    pub result: &'static str,
    pub subscription_id: Option<Uuid>,
    /// The first cycle billingd charges and when.
    pub next_cycle: Option<u32>,
    pub next_due_at: Option<DateTime<Utc>>,
    /// How many billed cycles the row brings (recorded as `imported`).
    pub imported_cycles: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The file is the body: JSON Lines (`format=jsonl`, the default) or CSV (`format=csv`).
/// 200 with the report; 422 with the report when a row was rejected (nothing was imported).
#[utoipa::path(post, path = "/v1/imports", tag = "subscriptions", params(ImportQuery),
    request_body(content = String, content_type = "text/plain", description = "the import file"),
    responses((status = 200, body = ImportReport), (status = 422, body = ImportReport),
        (status = 400, body = Problem)))]
async fn import(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportReport>)> {
    let bytes = read_body(body, BodyLimit(state.settings.api.max_body_bytes)).await?;
    let format = q.format.unwrap_or(ImportFormat::Jsonl);
    let report = run_import(&state.store, state.clock.now(), &bytes, format, q.dry_run).await?;
    let status = if report.rejected > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

/// Reads, checks and (unless a dry run, or a row is rejected) imports a file.
pub async fn run_import(
    store: &Store,
    now: Timestamp,
    bytes: &[u8],
    format: ImportFormat,
    dry_run: bool,
) -> Result<ImportReport, ApiError> {
    let rows = read(bytes, format)?;
    if rows.is_empty() {
        return Err(ApiError::bad_request("the file has no rows"));
    }
    let checked = check_rows(store, now, rows).await?;
    let mut report = report(&checked, now, dry_run);
    if dry_run || report.rejected > 0 {
        return Ok(report);
    }
    let new: Vec<NewSubscription> = checked
        .into_iter()
        .filter_map(|c| match c.verdict {
            Verdict::Accepted(n) => Some(*n),
            _ => None,
        })
        .collect();
    let done = store.import_subscriptions(&new, now).await?;
    let mut done = done.into_iter();
    for row in report.rows.iter_mut().filter(|r| r.result == "accepted") {
        match done.next() {
            Some(ImportedRow::Created(sub)) => {
                row.result = "created";
                row.subscription_id = Some(sub.id);
            }
            // Created by a concurrent import between the check and now.
            Some(ImportedRow::Existing(id)) => {
                row.result = "exists";
                row.subscription_id = Some(id);
            }
            None => {}
        }
    }
    report.imported = true;
    Ok(report)
}

enum Verdict {
    Accepted(Box<NewSubscription>),
    Exists(Uuid),
    Rejected(Vec<FieldError>),
}

struct Checked {
    line: u64,
    reference: Option<String>,
    verdict: Verdict,
}

/// Each row as `POST /v1/subscriptions` would check it, plus: a merchant reference is required
/// (it makes the import idempotent) and unique within the file. A database failure ends the
/// whole import with a 5xx; a row's own fault rejects only that row.
async fn check_rows(
    store: &Store,
    now: Timestamp,
    rows: Vec<ReadRow>,
) -> Result<Vec<Checked>, ApiError> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut checked = Vec::with_capacity(rows.len());
    for ReadRow {
        line,
        reference: as_read,
        row,
    } in rows
    {
        let validated = match row {
            Ok(body) => new_subscription(store, now, body).await,
            Err(e) => Err(e),
        };
        let new = match validated {
            Ok(new) => new,
            // The report names the row's reference as written, whatever else is wrong with it.
            Err(e) if e.is_client_error() => {
                checked.push(rejected(line, as_read, e.field_errors()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(reference) = new.merchant_reference.clone() else {
            let e = ApiError::invalid("merchant_reference", "is required in an import");
            checked.push(rejected(line, None, e.field_errors()));
            continue;
        };
        if let Some(first) = seen.insert(reference.clone(), line) {
            let message = format!("is also on line {first} of the file");
            let e = ApiError::invalid("merchant_reference", message);
            checked.push(rejected(line, Some(reference), e.field_errors()));
            continue;
        }
        let verdict = match store.subscription_by_reference(&reference).await? {
            Some(id) => Verdict::Exists(id),
            None => Verdict::Accepted(Box::new(new)),
        };
        checked.push(Checked {
            line,
            reference: Some(reference),
            verdict,
        });
    }
    Ok(checked)
}

fn rejected(line: u64, reference: Option<String>, errors: Vec<FieldError>) -> Checked {
    Checked {
        line,
        reference,
        verdict: Verdict::Rejected(errors),
    }
}

fn report(checked: &[Checked], now: Timestamp, dry_run: bool) -> ImportReport {
    let until = now
        .checked_add(jiff::SignedDuration::from_hours(24 * FORECAST_DAYS))
        .unwrap_or(now);
    let mut forecast = Forecast::new(now, until);
    let mut rows = Vec::with_capacity(checked.len());
    for c in checked {
        let mut row = RowReport {
            line: c.line,
            merchant_reference: c.reference.clone(),
            result: "rejected",
            subscription_id: None,
            next_cycle: None,
            next_due_at: None,
            imported_cycles: 0,
            errors: Vec::new(),
        };
        match &c.verdict {
            Verdict::Accepted(new) => {
                let (next_cycle, next_due) = match &new.imported {
                    Some(i) => (i.next_cycle, Some(i.next_due)),
                    None => (1, new.schedule.due_at(1)),
                };
                forecast.add_subscription(&PlannedSubscription {
                    schedule: &new.schedule,
                    next_cycle,
                    amount_minor: new.price.amount_minor,
                    currency: new.price.currency.as_str(),
                    cancel_at_period_end: false,
                });
                row.result = "accepted";
                row.next_cycle = Some(next_cycle);
                row.next_due_at = next_due.map(to_db);
                row.imported_cycles = new.imported.as_ref().map_or(0, |i| i.billed.len() as u32);
            }
            Verdict::Exists(id) => {
                row.result = "exists";
                row.subscription_id = Some(*id);
            }
            Verdict::Rejected(errors) => row.errors = errors.clone(),
        }
        rows.push(row);
    }
    let count = |r: &str| rows.iter().filter(|x| x.result == r).count();
    ImportReport {
        dry_run,
        imported: false,
        accepted: count("accepted"),
        existing: count("exists"),
        rejected: count("rejected"),
        next_30_days: super::forecast::view(forecast.days(), to_db(now), to_db(until)).days,
        rows,
    }
}
