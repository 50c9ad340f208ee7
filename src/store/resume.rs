//! Resuming what a suspension held, when the account comes back (a new credential, or the
//! customer's completed initializing payment).

use jiff::Timestamp;
use uuid::Uuid;

use super::to_db;
use crate::config::RefusedCycles;
use crate::domain::states::GatewayKind;
use crate::gateway::fresh_intent;

/// Resumes what a suspension held, inside the caller's transaction: held subscriptions become
/// active; held charges (whose last answer is known: refused, or never sent) are charged once
/// more under a fresh key — the first opening the new series — or skipped, by policy.
/// Returns (subscriptions resumed, refused cycles handled).
pub async fn resume_held(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    gateway: GatewayKind,
    refused: RefusedCycles,
    now: Timestamp,
) -> Result<(u64, usize), sqlx::Error> {
    let db_now = to_db(now);
    let resumed = sqlx::query(
        "UPDATE subscriptions SET status = 'active', updated_at = $2 WHERE account_id = $1 AND status = 'held'",
    )
    .bind(id)
    .bind(db_now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let held: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT id, attempt_no FROM charges WHERE account_id = $1 AND status = 'held' FOR UPDATE",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for (charge_id, attempt_no) in &held {
        match refused {
            RefusedCycles::Charge => {
                let (key, order_id) = fresh_intent(gateway, *charge_id, attempt_no + 1);
                sqlx::query(
                    "UPDATE charges SET status = 'due', attempt_no = $2, idempotency_key = $3, \
                     order_id = $4, request_body = NULL, sequence = NULL, next_attempt_at = $5, \
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
                )
                .bind(charge_id)
                .bind(attempt_no + 1)
                .bind(key)
                .bind(order_id)
                .bind(db_now)
                .execute(&mut *tx)
                .await?;
            }
            RefusedCycles::Skip => {
                sqlx::query(
                    "UPDATE charges SET status = 'skipped', settled_at = $2, \
                     failure_reason = 'skipped at re-initialization' WHERE id = $1",
                )
                .bind(charge_id)
                .bind(db_now)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok((resumed, held.len()))
}
