//! Schedule previews: the next due times and positions of a subscription, or of a schedule
//! before it is created — with the reason for every date that is not the obvious one, so a
//! merchant can see why the next charge is on Feb 28 at 09:00 Europe/Paris.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiError, ApiResult, Problem};
use super::schedule_input::ScheduleInput;
use crate::domain::schedule::{IntervalUnit, Schedule};
use crate::store::to_db;

const MAX_COUNT: usize = 120;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(preview_subscription))
        .routes(routes!(preview_schedule))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub time_zone: String,
    pub cycles: Vec<PreviewCycle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewCycle {
    pub cycle: u32,
    pub due_at: DateTime<Utc>,
    /// The wall time in the schedule's zone at `due_at`.
    pub local_due: String,
    /// `first` for cycle 1, else `subsequent`. (The charge itself is sent as `first` whenever
    /// its subscription has no series on record, e.g. after a re-initialization, and as
    /// `subsequent` from cycle 1 on when the subscription continues an existing series.)
    pub sequence: String,
    /// `recurring` | `installment`
    pub processing_model: String,
    pub is_last: bool,
    /// Why this date and time, where it is not simply the anchor plus whole intervals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    /// How many cycles (1–120, default 12).
    #[param(minimum = 1, maximum = 120)]
    count: Option<usize>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    schedule: ScheduleInput,
    /// How many cycles (1–120, default 12).
    #[schema(minimum = 1, maximum = 120)]
    count: Option<usize>,
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}/preview", tag = "subscriptions",
    params(("id" = Uuid, Path), CountQuery),
    responses((status = 200, body = Preview), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn preview_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<CountQuery>,
) -> ApiResult<Json<Preview>> {
    let count = count(q.count)?;
    let sub = state.store.subscription(id).await?;
    let schedule = sub.schedule()?;
    let from = if sub.next_due_at.is_some() {
        sub.next_cycle as u32
    } else {
        u32::MAX
    };
    Ok(Json(preview(&schedule, from, count)))
}

/// Preview a schedule before creating a subscription with it.
#[utoipa::path(post, path = "/v1/schedule/preview", tag = "subscriptions", request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 422, body = Problem)))]
async fn preview_schedule(ApiJson(body): ApiJson<PreviewRequest>) -> ApiResult<Json<Preview>> {
    let count = count(body.count)?;
    let schedule = body.schedule.validate("schedule")?;
    Ok(Json(preview(&schedule, 1, count)))
}

fn count(n: Option<usize>) -> ApiResult<usize> {
    let n = n.unwrap_or(12);
    if !(1..=MAX_COUNT).contains(&n) {
        return Err(ApiError::invalid(
            "count",
            format!("must be between 1 and {MAX_COUNT}"),
        ));
    }
    Ok(n)
}

pub(crate) fn preview(schedule: &Schedule, from: u32, count: usize) -> Preview {
    let cycles = if from == u32::MAX {
        Vec::new()
    } else {
        schedule.upcoming(from, count)
    };
    Preview {
        time_zone: schedule.time_zone_name().to_owned(),
        cycles: cycles
            .into_iter()
            .map(|(cycle, due, position)| {
                let local = due.to_zoned(schedule.time_zone().clone()).datetime();
                PreviewCycle {
                    cycle,
                    due_at: to_db(due),
                    local_due: local.to_string(),
                    sequence: position.sequence.as_str().to_owned(),
                    processing_model: position.model.as_str().to_owned(),
                    is_last: position.is_last,
                    notes: notes(schedule, cycle, local),
                }
            })
            .collect(),
    }
}

/// Month-end clamping and daylight-saving adjustments, in words.
fn notes(schedule: &Schedule, cycle: u32, actual: jiff::civil::DateTime) -> Vec<String> {
    let mut notes = Vec::new();
    let anchor = schedule.anchor();
    let Some(wanted) = schedule.local_due(cycle) else {
        return notes;
    };
    if matches!(schedule.unit(), IntervalUnit::Month | IntervalUnit::Year)
        && wanted.day() != anchor.day()
    {
        notes.push(format!(
            "the anchor's day {} does not exist in {}-{:02}: the month's last day, the {}, is used",
            anchor.day(),
            wanted.year(),
            wanted.month(),
            wanted.day()
        ));
    }
    if actual != wanted {
        notes.push(format!(
            "{} does not exist in {} (daylight-saving gap): charged at {}, the same instant shifted by the gap",
            wanted.time(),
            schedule.time_zone_name(),
            actual.time()
        ));
    } else if schedule
        .time_zone()
        .to_ambiguous_zoned(wanted)
        .is_ambiguous()
    {
        notes.push(format!(
            "{} occurs twice on {} in {} (daylight-saving fold): the earlier one is used",
            wanted.time(),
            wanted.date(),
            schedule.time_zone_name()
        ));
    }
    notes
}
