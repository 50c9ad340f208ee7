//! The webhook tables: claiming due deliveries for the worker, recording each POST, and reading
//! events with their deliveries and attempts for the API.

use chrono::{DateTime, Utc};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use crate::store::listing::{Cursor, Page};
use crate::store::{Store, StoreError, to_db};

/// A delivery claimed for one POST: the event body and the attempt number this claim owns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub event_id: Uuid,
    pub kind: String,
    pub endpoint: String,
    pub attempt_no: i32,
    pub payload: serde_json::Value,
}

/// What became of one POST, and so of the delivery.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub started_at: Timestamp,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i32,
    /// `delivered`, `pending` (to be retried at `next_attempt_at`) or `failed` (given up).
    pub status: &'static str,
    pub next_attempt_at: Timestamp,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookEvent {
    pub id: Uuid,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub event_id: Uuid,
    pub endpoint: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One POST of a delivery, as the API shows it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct WebhookAttempt {
    #[serde(skip)]
    pub delivery_id: i64,
    pub attempt_no: i32,
    pub attempted_at: DateTime<Utc>,
    /// Absent when no answer came (connection refused, timeout).
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

impl Store {
    /// Claims up to `limit` due deliveries to `endpoint` under a lease until `now + lease`
    /// (`SKIP LOCKED`: replicas claim disjoint rows). The claim counts as an attempt, so a
    /// daemon that dies mid-POST uses it up and the next claim's number fences this one out.
    pub async fn claim_webhook_deliveries(
        &self,
        endpoint: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now_db = to_db(now);
        Ok(sqlx::query_as::<_, ClaimedDelivery>(
            "WITH due AS ( \
               SELECT id FROM webhook_deliveries \
               WHERE status = 'pending' AND endpoint = $1 AND next_attempt_at <= $2 \
                 AND (lease_until IS NULL OR lease_until <= $2) \
               ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries d SET attempts = d.attempts + 1, lease_until = $4 \
             FROM due, webhook_events e WHERE d.id = due.id AND e.id = d.event_id \
             RETURNING d.id, d.event_id, e.kind, d.endpoint, d.attempts AS attempt_no, e.payload",
        )
        .bind(endpoint)
        .bind(now_db)
        .bind(limit)
        .bind(to_db(now.checked_add(lease).unwrap_or(now)))
        .fetch_all(self.pool())
        .await?)
    }

    /// Logs the POST and moves the delivery on — unless a later claim took it over (its
    /// lease expired), in which case only the log row is written.
    pub async fn record_webhook_attempt(
        &self,
        d: &ClaimedDelivery,
        r: &AttemptResult,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "WITH attempt AS ( \
               INSERT INTO webhook_attempts (delivery_id, attempt_no, attempted_at, http_status, \
                 error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)) \
             UPDATE webhook_deliveries SET status = $7, lease_until = NULL, last_http_status = $4, \
               last_error = $5, next_attempt_at = $8, \
               delivered_at = CASE WHEN $7 = 'delivered' THEN $9 END \
             WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        )
        .bind(d.id)
        .bind(d.attempt_no)
        .bind(to_db(r.started_at))
        .bind(r.http_status.map(i32::from))
        .bind(&r.error)
        .bind(r.duration_ms)
        .bind(r.status)
        .bind(to_db(r.next_attempt_at))
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Events oldest first, optionally of one type.
    pub async fn list_webhook_events(
        &self,
        kind: Option<&str>,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<WebhookEvent>, StoreError> {
        let mut rows = sqlx::query_as::<_, WebhookEvent>(
            "SELECT id, kind, payload, created_at FROM webhook_events \
             WHERE ($1::text IS NULL OR kind = $1) \
               AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) \
             ORDER BY created_at, id LIMIT $4",
        )
        .bind(kind)
        .bind(after.map(|c| c.at))
        .bind(after.map(|c| c.id))
        .bind(limit + 1)
        .fetch_all(self.pool())
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = rows.last().filter(|_| more).map(|e| Cursor {
            at: e.created_at,
            id: e.id,
        });
        Ok(Page { items: rows, next })
    }

    pub async fn webhook_event(&self, id: Uuid) -> Result<WebhookEvent, StoreError> {
        sqlx::query_as::<_, WebhookEvent>(
            "SELECT id, kind, payload, created_at FROM webhook_events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "webhook event",
            id: id.to_string(),
        })
    }

    /// The deliveries of these events, by event then endpoint.
    pub async fn webhook_deliveries(
        &self,
        event_ids: &[Uuid],
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        Ok(sqlx::query_as::<_, WebhookDelivery>(
            "SELECT id, event_id, endpoint, status, attempts, next_attempt_at, last_http_status, \
             last_error, delivered_at, created_at FROM webhook_deliveries \
             WHERE event_id = ANY($1) ORDER BY event_id, id",
        )
        .bind(event_ids)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every POST of these deliveries, in the order made.
    pub async fn webhook_attempts(
        &self,
        delivery_ids: &[i64],
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        Ok(sqlx::query_as::<_, WebhookAttempt>(
            "SELECT delivery_id, attempt_no, attempted_at, http_status, error, duration_ms \
             FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt_no",
        )
        .bind(delivery_ids)
        .fetch_all(self.pool())
        .await?)
    }
}
