//! What on the overview needs a person: suspended accounts, failed charges, failing webhook
//! deliveries, reconciliation findings (the latest of each).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use crate::store::StoreError;

pub struct SuspendedRow {
    pub id: Uuid,
    pub since: String,
    pub reason: String,
    pub waiting_for_customer: bool,
}

pub struct FailedRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub due: String,
    pub amount: String,
    pub reason: String,
}

pub struct DeliveryRow {
    pub kind: String,
    pub endpoint: String,
    pub status: String,
    pub attempts: i32,
    pub last: String,
}

pub struct FindingRow {
    pub found: String,
    pub gateway: String,
    pub kind: String,
    pub order_ref: String,
    pub amount: String,
    pub detail: String,
    pub charge_id: Option<Uuid>,
}

pub async fn suspended(c: &Console) -> Result<Vec<SuspendedRow>, StoreError> {
    type Row = (Uuid, Option<DateTime<Utc>>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, suspended_at, suspension_reason, init_link FROM payment_accounts \
         WHERE state = 'suspended' ORDER BY suspended_at DESC NULLS LAST, id LIMIT 50",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, since, reason, link)| SuspendedRow {
            id,
            since: format::utc_opt(since),
            reason: format::opt(reason),
            waiting_for_customer: link.is_some(),
        })
        .collect())
}

pub async fn failed(c: &Console) -> Result<Vec<FailedRow>, StoreError> {
    type Row = (
        Uuid,
        Uuid,
        DateTime<Utc>,
        i64,
        String,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.subscription_id, c.due_at, c.amount_minor, c.currency, c.failure_reason, \
         s.time_zone FROM charges c JOIN subscriptions s ON s.id = c.subscription_id \
         WHERE c.status = 'failed' ORDER BY c.settled_at DESC NULLS LAST, c.id LIMIT 20",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, subscription_id, due, amount, currency, reason, zone)| FailedRow {
                id,
                subscription_id,
                due: format::both(due, &zone),
                amount: format::money(amount, &currency),
                reason: format::opt(reason),
            },
        )
        .collect())
}

pub async fn deliveries(c: &Console) -> Result<Vec<DeliveryRow>, StoreError> {
    type Row = (String, String, String, i32, Option<i32>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.kind, d.endpoint, d.status, d.attempts, d.last_http_status, d.last_error \
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE d.status = 'failed' OR (d.status = 'pending' AND d.attempts > 0) \
         ORDER BY d.id DESC LIMIT 20",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, endpoint, status, attempts, http, error)| DeliveryRow {
                kind,
                endpoint: crate::config::mask_url_password(&endpoint),
                status,
                attempts,
                last: match (http, error) {
                    (Some(h), _) => format!("HTTP {h}"),
                    (None, Some(e)) => e,
                    (None, None) => "—".into(),
                },
            },
        )
        .collect())
}

pub async fn findings(c: &Console) -> Result<Vec<FindingRow>, StoreError> {
    type Row = (
        DateTime<Utc>,
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
        String,
        Option<Uuid>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT found_at, gateway, kind, order_ref, amount_minor, currency, detail, charge_id \
         FROM reconciliation_findings ORDER BY found_at DESC, id DESC LIMIT 20",
    )
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(found, gateway, kind, order_ref, amount, currency, detail, charge_id)| FindingRow {
                found: format::utc(found),
                gateway,
                kind,
                order_ref,
                amount: match (amount, currency) {
                    (Some(a), Some(cur)) => format::money(a, &cur),
                    _ => "—".into(),
                },
                detail,
                charge_id,
            },
        )
        .collect())
}
