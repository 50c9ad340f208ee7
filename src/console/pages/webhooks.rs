//! Webhook events (the latest first) with each endpoint's delivery, and the latest delivery
//! attempts with the receiver's answer and how long it took.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use crate::config::mask_url_password;
use crate::store::StoreError;

pub struct EventRow {
    pub id: Uuid,
    pub kind: String,
    pub created: String,
    pub deliveries: Vec<String>,
}

pub struct AttemptRow {
    pub event: Uuid,
    pub kind: String,
    pub endpoint: String,
    pub attempt: i32,
    pub at: String,
    pub answer: String,
    pub took: i32,
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    endpoints: usize,
    events: Vec<EventRow>,
    attempts: Vec<AttemptRow>,
}

pub async fn page(State(c): State<Console>, session: Session) -> Response {
    let loaded = async { Ok::<_, StoreError>((events(&c).await?, attempts(&c).await?)) }.await;
    match loaded {
        Ok((events, attempts)) => render::page(
            StatusCode::OK,
            &WebhooksPage {
                layout: Layout::new(&c, Some(&session), "Webhooks"),
                endpoints: c.api.store.webhook_endpoints().len(),
                events,
                attempts,
            },
        ),
        Err(e) => render::store_failure(&c, &session, e),
    }
}

async fn events(c: &Console) -> Result<Vec<EventRow>, StoreError> {
    type Row = (
        Uuid,
        String,
        DateTime<Utc>,
        Option<String>,
        Option<String>,
        Option<i32>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, e.kind, e.created_at, d.endpoint, d.status, d.attempts \
         FROM (SELECT * FROM webhook_events ORDER BY created_at DESC, id DESC LIMIT 100) e \
         LEFT JOIN webhook_deliveries d ON d.event_id = e.id \
         ORDER BY e.created_at DESC, e.id DESC, d.id",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    let mut events: Vec<EventRow> = Vec::new();
    for (id, kind, created, endpoint, status, attempts) in rows {
        if events.last().is_none_or(|e| e.id != id) {
            events.push(EventRow {
                id,
                kind,
                created: format::utc(created),
                deliveries: Vec::new(),
            });
        }
        if let (Some(endpoint), Some(status), Some(n), Some(event)) =
            (endpoint, status, attempts, events.last_mut())
        {
            let endpoint = mask_url_password(&endpoint);
            event
                .deliveries
                .push(format!("{endpoint}: {status} after {n} attempt(s)"));
        }
    }
    Ok(events)
}

async fn attempts(c: &Console) -> Result<Vec<AttemptRow>, StoreError> {
    type Row = (
        Uuid,
        String,
        String,
        i32,
        DateTime<Utc>,
        Option<i32>,
        Option<String>,
        i32,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, e.kind, d.endpoint, a.attempt_no, a.attempted_at, a.http_status, a.error, \
         a.duration_ms FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         JOIN webhook_events e ON e.id = d.event_id ORDER BY a.id DESC LIMIT 100",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(event, kind, endpoint, attempt, at, http, error, took)| AttemptRow {
                event,
                kind,
                endpoint: mask_url_password(&endpoint),
                attempt,
                at: format::utc(at),
                answer: match (http, error) {
                    (Some(h), _) => format!("HTTP {h}"),
                    (None, Some(e)) => e,
                    (None, None) => "—".into(),
                },
                took,
            },
        )
        .collect())
}
