//! /v1/charges and /v1/subscriptions/{id}/charges: what was billed, and every request sent.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::checks::one_of;
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{List, window};
use super::problem::{ApiError, ApiResult, Problem};
use super::views::ChargeDetail;
use crate::domain::states::ChargeStatus;
use crate::store::charges::Charge;
use crate::store::listing::ChargeFilter;
use crate::store::recovery::ReattemptBudget;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_charges))
        .routes(routes!(get_charge))
        .routes(routes!(retry_charge))
        .routes(routes!(list_subscription_charges))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChargeQuery {
    /// `due` | `approved` | `failed` | `held` | `skipped` | `cancelled` | `imported`
    #[param(pattern = "^(due|approved|failed|held|skipped|cancelled|imported)$")]
    status: Option<String>,
    subscription_id: Option<Uuid>,
    account_id: Option<Uuid>,
    /// Charges due at or after this instant (RFC 3339).
    due_from: Option<DateTime<Utc>>,
    /// Charges due before this instant (RFC 3339).
    due_to: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionChargeQuery {
    /// `due` | `approved` | `failed` | `held` | `skipped` | `cancelled` | `imported`
    #[param(pattern = "^(due|approved|failed|held|skipped|cancelled|imported)$")]
    status: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/charges", tag = "charges", params(ChargeQuery),
    responses((status = 200, body = List<Charge>), (status = 422, body = Problem)))]
async fn list_charges(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ChargeQuery>,
) -> ApiResult<Json<List<Charge>>> {
    let filter = ChargeFilter {
        status: q.status,
        subscription_id: q.subscription_id,
        account_id: q.account_id,
        due_from: q.due_from,
        due_to: q.due_to,
    };
    list(&state, filter, q.limit, q.cursor.as_deref()).await
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}/charges", tag = "charges",
    params(("id" = Uuid, Path), SubscriptionChargeQuery),
    responses((status = 200, body = List<Charge>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_subscription_charges(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<SubscriptionChargeQuery>,
) -> ApiResult<Json<List<Charge>>> {
    state.store.subscription(id).await?;
    let filter = ChargeFilter {
        status: q.status,
        subscription_id: Some(id),
        ..ChargeFilter::default()
    };
    list(&state, filter, q.limit, q.cursor.as_deref()).await
}

#[utoipa::path(get, path = "/v1/charges/{id}", tag = "charges", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChargeDetail), (status = 404, body = Problem)))]
async fn get_charge(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ChargeDetail>> {
    let charge = state.store.charge(id).await?;
    let attempts = state.store.charge_attempts(id).await?;
    Ok(Json(ChargeDetail { charge, attempts }))
}

/// Retries a failed charge now, as a new attempt (a new Idempotency-Key and orderId): only when
/// every request sent for it has a definitive answer, no reconciliation finding shows it
/// approved, its subscription is active or past due (then active again), its account is active,
/// and the card has reattempts left within `dunning.max_reattempts` per
/// `dunning.reattempt_window`. A 409 says which of these stops it. Billing sends it on its next
/// run.
#[utoipa::path(post, path = "/v1/charges/{id}/retry", tag = "charges", params(("id" = Uuid, Path),
    ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Replays the stored answer for a repeat; 1 to 255 visible ASCII characters")),
    responses((status = 200, body = Charge), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn retry_charge(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Charge>> {
    let d = &state.settings.dunning;
    let budget = ReattemptBudget {
        max: d.max_reattempts,
        window: d.reattempt_window.signed(),
    };
    let charge = state
        .store
        .retry_failed_charge(id, budget, state.clock.now())
        .await?;
    Ok(Json(charge))
}

async fn list(
    state: &ApiState,
    filter: ChargeFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> ApiResult<Json<List<Charge>>> {
    let (limit, cursor) = window(limit, cursor)?;
    if let Some(s) = filter.status.as_deref() {
        let statuses: Vec<&str> = ChargeStatus::ALL.iter().map(|c| c.as_str()).collect();
        one_of("status", s, &statuses)?;
    }
    for (field, at) in [("due_from", filter.due_from), ("due_to", filter.due_to)] {
        if let Some(at) = at
            && !(0..=9999).contains(&at.year())
        {
            return Err(ApiError::invalid(
                field,
                "must lie between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
            ));
        }
    }
    if let (Some(from), Some(to)) = (filter.due_from, filter.due_to)
        && from > to
    {
        return Err(ApiError::invalid("due_from", "must not be after due_to"));
    }
    let page = state.store.list_charges(&filter, cursor, limit).await?;
    Ok(Json(List::from_page(page, std::convert::identity)))
}
