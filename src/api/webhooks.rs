//! /v1/webhook-events: every event announced to the merchant's receivers, where each delivery
//! stands, and every POST made for it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::checks::one_of;
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{List, window};
use super::problem::{ApiResult, Problem};
use crate::config::mask_url_password;
use crate::webhooks::EventKind;
use crate::webhooks::store::{WebhookAttempt, WebhookDelivery, WebhookEvent};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(get_event))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// `charge.approved` | `charge.declined` | `charge.failed` | `subscription.completed` |
    /// `subscription.past_due` | `subscription.cancelled` | `subscription.paused` (these two by
    /// the dunning end) | `account.suspended` | `account.reinitialization_requested` |
    /// `account.reactivated` | `reconciliation.finding` | `charge.upcoming` |
    /// `account.card_expiring`
    #[serde(rename = "type")]
    #[param(
        pattern = r"^(charge\.(approved|declined|failed)|subscription\.(completed|past_due|cancelled|paused)|account\.(suspended|reinitialization_requested|reactivated)|reconciliation\.finding|charge\.upcoming|account\.card_expiring)$"
    )]
    kind: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// An event and its deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventView {
    /// The event id: `Billingd-Event-Id`, and `id` in the payload. Receivers de-duplicate on it.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// The JSON body POSTed to every endpoint, as sent: `{id, type, created_at, data}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// One per endpoint configured when the event was written; none while webhooks are off.
    pub deliveries: Vec<WebhookDeliveryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// The receiver's URL, a password in it masked.
    pub endpoint: String,
    /// `pending` | `delivered` | `failed` (given up after `webhooks.max_attempts`)
    pub status: String,
    /// POSTs made so far.
    pub attempt_count: i32,
    /// When the next POST is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every POST, in order (on single-event reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<WebhookAttempt>>,
}

#[utoipa::path(get, path = "/v1/webhook-events", tag = "webhooks", params(EventQuery),
    responses((status = 200, body = List<WebhookEventView>), (status = 422, body = Problem)))]
async fn list_events(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<List<WebhookEventView>>> {
    let (limit, cursor) = window(q.limit, q.cursor.as_deref())?;
    if let Some(kind) = q.kind.as_deref() {
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        one_of("type", kind, &kinds)?;
    }
    let page = state
        .store
        .list_webhook_events(q.kind.as_deref(), cursor, limit)
        .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|e| e.id).collect();
    let mut deliveries = by_event(state.store.webhook_deliveries(&ids).await?);
    Ok(Json(List {
        next_cursor: page.next.map(|c| c.encode()),
        data: page
            .items
            .into_iter()
            .map(|e| {
                let d = deliveries.remove(&e.id).unwrap_or_default();
                view(e, d, None)
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/v1/webhook-events/{id}", tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEventView), (status = 404, body = Problem)))]
async fn get_event(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookEventView>> {
    let event = state.store.webhook_event(id).await?;
    let deliveries = state.store.webhook_deliveries(&[id]).await?;
    let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
    let attempts = state.store.webhook_attempts(&ids).await?;
    Ok(Json(view(event, deliveries, Some(attempts))))
}

fn by_event(deliveries: Vec<WebhookDelivery>) -> HashMap<Uuid, Vec<WebhookDelivery>> {
    let mut map: HashMap<Uuid, Vec<WebhookDelivery>> = HashMap::new();
    for d in deliveries {
        map.entry(d.event_id).or_default().push(d);
    }
    map
}

fn view(
    e: WebhookEvent,
    deliveries: Vec<WebhookDelivery>,
    attempts: Option<Vec<WebhookAttempt>>,
) -> WebhookEventView {
    let deliveries = deliveries
        .into_iter()
        .map(|d| WebhookDeliveryView {
            endpoint: mask_url_password(&d.endpoint),
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            status: d.status,
            attempt_count: d.attempts,
            last_http_status: d.last_http_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            attempts: attempts.as_ref().map(|all| {
                all.iter()
                    .filter(|a| a.delivery_id == d.id)
                    .cloned()
                    .collect()
            }),
        })
        .collect();
    WebhookEventView {
        id: e.id,
        kind: e.kind,
        created_at: e.created_at,
        payload: e.payload,
        deliveries,
    }
}
