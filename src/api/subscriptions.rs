//! /v1/subscriptions: create, read, list, and the lifecycle (pause, resume, cancel, amount).

use crate::domain::states::GatewayKind;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::checks::{non_empty, one_of};
use super::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery};
pub use super::new_subscription::new_subscription;
use super::pagination::{List, window};
use super::problem::{ApiError, ApiResult, Problem};
use super::schedule_input::ScheduleInput;
use super::views::SubscriptionView;
use crate::domain::materialize::CatchUp;
use crate::domain::money::Money;
use crate::domain::series::FirstPayment;
use crate::store::listing::SubscriptionFilter;

/// Amounts above this are refused as certainly a mistake (ten billion major units).
const MAX_AMOUNT: i64 = 1_000_000_000_000;
const STATUSES: &[&str] = &[
    "active",
    "paused",
    "past_due",
    "held",
    "completed",
    "cancelled",
];

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(get_subscription, update_subscription))
        .routes(routes!(pause_subscription))
        .routes(routes!(resume_subscription))
        .routes(routes!(cancel_subscription))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    pub(super) account_id: Uuid,
    /// Minor units (cents), > 0.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub(super) amount: i64,
    /// ISO 4217, e.g. `USD`.
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub(super) currency: String,
    pub(super) schedule: ScheduleInput,
    /// Your own reference, searchable.
    #[schema(max_length = 200, pattern = "\\S")]
    pub(super) merchant_reference: Option<String>,
    /// Your own key/value data, returned as given.
    #[schema(value_type = Option<Object>)]
    pub(super) metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Payroc only: continue this agreement's existing stored-credential series (its first
    /// payment was made before the agreement came to billingd) instead of opening one. Every
    /// charge of the subscription then goes out as `subsequent` referring to it, with the plan's
    /// processing model (`installment` with `total_cycles`, else `recurring`), which must be the
    /// one the series was opened with.
    pub(super) series: Option<SeriesInput>,
    /// Taking over a subscription another system has billed: cycles 1 to this one were billed
    /// there. They are recorded as `imported` (never charged) and billing starts at the next
    /// cycle, which may be overdue by at most one cycle (it is then charged at once). The anchor
    /// may then lie further back than a year.
    #[schema(minimum = 1, maximum = 10000)]
    pub(super) billed_through_cycle: Option<u32>,
    /// The other way to say the same: the customer has paid for the time before this instant.
    /// Every cycle due before it was billed; the first due at or after it is billingd's.
    pub(super) paid_through: Option<chrono::DateTime<chrono::Utc>>,
    /// After downtime or a suspension: `all` missed cycles are charged (up to
    /// `catch_up_max_cycles`), or only the `latest`; the others are recorded as `skipped`.
    /// Default: the daemon's `billing.catch_up`.
    #[schema(value_type = Option<String>, pattern = "^(all|latest)$")]
    pub(super) catch_up: Option<CatchUp>,
    /// Under `all`: at most this many missed cycles (the newest) are charged. Default: the
    /// daemon's `billing.catch_up_max_cycles`.
    #[schema(minimum = 1, maximum = 1000)]
    pub(super) catch_up_max_cycles: Option<u32>,
}

/// The first payment of an existing series.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesInput {
    /// The gateway's id of the agreement's first payment (Payroc `paymentId`).
    #[schema(max_length = 100, pattern = "\\S")]
    payment_id: String,
    /// The card network's reference for it (Payroc `cardSchemeReferenceId`).
    #[schema(max_length = 100, pattern = "\\S")]
    scheme_reference: Option<String>,
}

/// Change what the next cycles charge, or your reference and metadata.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscription {
    /// New amount in minor units, for every cycle not yet due.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    amount: Option<i64>,
    #[schema(max_length = 200, pattern = "\\S")]
    merchant_reference: Option<String>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// `all` | `latest`; null: follow the daemon's `billing.catch_up` again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable, pattern = "^(all|latest)$")]
    catch_up: Option<Option<CatchUp>>,
    /// A cap on the missed cycles charged under `all`; null: the daemon's again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, nullable, minimum = 1, maximum = 1000)]
    catch_up_max_cycles: Option<Option<u32>>,
}

/// A field given (its value, null included) or absent (None, by `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What resuming a past-due subscription does with the charge that failed.
#[derive(Deserialize, ToSchema, Default, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailedCycle {
    /// It stays failed (unpaid, never billed again); billing goes on with the next cycle.
    #[default]
    Leave,
    /// It is retried now as a new attempt, as `POST /v1/charges/{id}/retry` would (refused
    /// with 409 and nothing changed when that would be).
    Retry,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResumeSubscription {
    /// For a past-due subscription: `leave` (default) or `retry` its failed charge.
    #[serde(default)]
    failed_cycle: FailedCycle,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscription {
    /// true: bill nothing more but end when the current period ends; false (default): now.
    #[serde(default)]
    pub(crate) at_period_end: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionQuery {
    /// `active` | `paused` | `past_due` | `held` | `completed` | `cancelled`
    #[param(pattern = "^(active|paused|past_due|held|completed|cancelled)$")]
    status: Option<String>,
    account_id: Option<Uuid>,
    merchant_reference: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/subscriptions", tag = "subscriptions", request_body = CreateSubscription,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Replays the stored answer for a repeat; 1 to 255 visible ASCII characters")),
    responses((status = 201, body = SubscriptionView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_subscription(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<CreateSubscription>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    let new = new_subscription(&state.store, state.clock.now(), body).await?;
    let sub = state
        .store
        .insert_subscription(&new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(sub.into())))
}

#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions", params(SubscriptionQuery),
    responses((status = 200, body = List<SubscriptionView>), (status = 422, body = Problem)))]
async fn list_subscriptions(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<SubscriptionQuery>,
) -> ApiResult<Json<List<SubscriptionView>>> {
    let (limit, cursor) = window(q.limit, q.cursor.as_deref())?;
    if let Some(s) = q.status.as_deref() {
        one_of("status", s, STATUSES)?;
    }
    let filter = SubscriptionFilter {
        status: q.status,
        account_id: q.account_id,
        merchant_reference: q.merchant_reference,
    };
    let page = state
        .store
        .list_subscriptions(&filter, cursor, limit)
        .await?;
    Ok(Json(List::from_page(page, SubscriptionView::from)))
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem)))]
async fn get_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SubscriptionView>> {
    Ok(Json(state.store.subscription(id).await?.into()))
}

/// A new amount applies to every cycle not yet due; a cycle's amount is fixed when it falls due.
#[utoipa::path(patch, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = Uuid, Path)),
    request_body = UpdateSubscription,
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateSubscription>,
) -> ApiResult<Json<SubscriptionView>> {
    let current = state.store.subscription(id).await?;
    let now = state.clock.now();
    let reference = match body.merchant_reference.as_deref() {
        Some(r) => Some(reference(Some(r))?),
        None => None,
    };
    let metadata = metadata(body.metadata)?;
    if let Some(amount) = body.amount {
        price(amount, &current.currency)?;
        state.store.change_amount(id, amount, now).await?;
    }
    if body.catch_up.is_some() || body.catch_up_max_cycles.is_some() {
        let (mode, max) = (body.catch_up, body.catch_up_max_cycles);
        super::new_subscription::change_catch_up(&state.store, &current, (mode, max), now).await?;
    }
    let sub = if reference.is_some() || metadata.is_some() {
        state
            .store
            .annotate_subscription(id, reference, metadata, now)
            .await?
    } else {
        state.store.subscription(id).await?
    };
    Ok(Json(sub.into()))
}

#[utoipa::path(post, path = "/v1/subscriptions/{id}/pause", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn pause_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SubscriptionView>> {
    Ok(Json(
        state
            .store
            .pause_subscription(id, state.clock.now())
            .await?
            .into(),
    ))
}

/// A paused subscription bills again from the next cycle due after now. A past-due one goes on
/// from where it stopped; its failed charge stays failed (`failed_cycle: "leave"`, the default)
/// or is retried now as a new attempt (`"retry"`, subject to the same checks as
/// `POST /v1/charges/{id}/retry`).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/resume", tag = "subscriptions", params(("id" = Uuid, Path)),
    request_body = ResumeSubscription,
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn resume_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<ResumeSubscription>,
) -> ApiResult<Json<SubscriptionView>> {
    let now = state.clock.now();
    if body.failed_cycle == FailedCycle::Retry {
        let sub = state.store.subscription(id).await?;
        if sub.status == crate::domain::states::SubscriptionStatus::PastDue
            && let Some(charge) = state.store.last_failed_charge(id).await?
        {
            let d = &state.settings.dunning;
            let budget = crate::store::recovery::ReattemptBudget {
                max: d.max_reattempts,
                window: d.reattempt_window.signed(),
            };
            // Makes the subscription active with the retry, or refuses leaving it past due.
            state.store.retry_failed_charge(charge, budget, now).await?;
            return Ok(Json(state.store.subscription(id).await?.into()));
        }
    }
    Ok(Json(state.store.resume_subscription(id, now).await?.into()))
}

#[utoipa::path(post, path = "/v1/subscriptions/{id}/cancel", tag = "subscriptions", params(("id" = Uuid, Path)),
    request_body = CancelSubscription,
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn cancel_subscription(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<CancelSubscription>,
) -> ApiResult<Json<SubscriptionView>> {
    Ok(Json(
        state
            .store
            .cancel_subscription(id, body.at_period_end, state.clock.now())
            .await?
            .into(),
    ))
}

/// Catch-up is for a daemon that was down, not for subscriptions dated years back: a new
/// subscription whose first cycle is over a year old would be charged for every cycle since.
pub(super) fn not_backdated(
    schedule: &crate::domain::schedule::Schedule,
    now: jiff::Timestamp,
) -> ApiResult<()> {
    let limit = now
        .checked_sub(jiff::SignedDuration::from_hours(366 * 24))
        .unwrap_or(now);
    match schedule.due_at(1) {
        Some(first) if first < limit => Err(ApiError::invalid(
            "schedule.anchor",
            "is more than a year in the past: every cycle since would be charged at once; use a recent anchor",
        )),
        _ => Ok(()),
    }
}

pub(super) fn price(amount: i64, currency: &str) -> ApiResult<Money> {
    if amount <= 0 {
        return Err(ApiError::invalid(
            "amount",
            "must be a positive number of minor units (cents)",
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "amount",
            format!("must be at most {MAX_AMOUNT} minor units"),
        ));
    }
    Money::charge(amount, currency).map_err(|e| ApiError::invalid("currency", e.to_string()))
}

/// A series continued from elsewhere, as the account's gateway takes it (Payroc names its
/// first payment; CertiTrade keeps its own and refuses one).
pub(super) fn series(
    input: Option<SeriesInput>,
    gateway: GatewayKind,
) -> ApiResult<Option<FirstPayment>> {
    let Some(s) = input else { return Ok(None) };
    let given = crate::gateway::rules::SeriesInput {
        payment_id: s.payment_id,
        scheme_reference: s.scheme_reference,
    };
    Ok(Some(
        crate::gateway::rules(gateway).continued_series(given)?,
    ))
}

pub(super) fn reference(value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(|r| non_empty("merchant_reference", r, 200).map(str::to_owned))
        .transpose()
}

pub(super) fn metadata(
    value: Option<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Option<serde_json::Value>> {
    let Some(map) = value else { return Ok(None) };
    if map.len() > 50 {
        return Err(ApiError::invalid("metadata", "at most 50 keys"));
    }
    let value = serde_json::Value::Object(map);
    if value.to_string().len() > 8 * 1024 {
        return Err(ApiError::invalid("metadata", "at most 8 KiB of JSON"));
    }
    Ok(Some(value))
}
