//! /v1/subscriptions: create, read, list, and the lifecycle (pause, resume, cancel, amount).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::checks::one_of;
use super::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery};
pub use super::new_subscription::{CreateSubscription, new_subscription};
use super::new_subscription::{metadata, price, reference};
use super::pagination::{List, window};
use super::problem::{ApiResult, Problem};
use super::views::SubscriptionView;
use crate::domain::materialize::CatchUp;
use crate::store::listing::SubscriptionFilter;

/// Amounts above this are refused as certainly a mistake (ten billion major units).
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
