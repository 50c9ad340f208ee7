//! The dunning end applied: each billing run moves the past-due subscriptions whose grace ran
//! out to `cancelled` or `paused` (`domain::dunning_end` decides), once — every change fenced
//! on `status = 'past_due'`, with its webhook event in the same transaction.

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use super::lifecycle::settle_unsent;
use super::outbox::{EventKind, enqueue_many};
use super::{Store, StoreError, from_db, to_db};
use crate::domain::dunning_end::{EndPolicy, EndStep, decide_end, ended_since};
use crate::domain::states::SubscriptionStatus;

/// Subscriptions ended per transaction; the rest wait for the next run.
const BATCH: i64 = 500;

/// The reason the events give: the merchant's dunning policy ended it, not the merchant.
pub const REASON: &str = "dunning_ended";

/// Past-due subscriptions that entered past due at $1 or before — when their latest failed
/// charge was settled — locked, so replicas split them and a merchant's change waits.
const CANDIDATES: &str = "SELECT s.id, s.account_id, s.status, f.id, f.cycle, f.settled_at \
     FROM subscriptions s CROSS JOIN LATERAL ( \
       SELECT c.id, c.cycle, c.settled_at FROM charges c \
       WHERE c.subscription_id = s.id AND c.status = 'failed' \
       ORDER BY c.settled_at DESC LIMIT 1) f \
     WHERE s.status = 'past_due' AND f.settled_at <= $1 \
     ORDER BY f.settled_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED";

type Candidate = (Uuid, Uuid, SubscriptionStatus, Uuid, i32, DateTime<Utc>);

/// What was ended, for the run summary's log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub cancelled: u64,
    pub paused: u64,
}

impl Store {
    /// One pass of the dunning end at `now`. Nothing at all while the policy keeps past-due
    /// subscriptions past due.
    pub async fn end_dunning(
        &self,
        policy: EndPolicy,
        now: Timestamp,
    ) -> Result<Ended, StoreError> {
        let Some(cutoff) = ended_since(policy, now) else {
            return Ok(Ended::default());
        };
        let mut tx = self.pool.begin().await?;
        let rows: Vec<Candidate> = sqlx::query_as(CANDIDATES)
            .bind(to_db(cutoff))
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        let mut ended = Ended::default();
        let mut events = Vec::new();
        for (id, account_id, status, charge_id, cycle, since) in rows {
            let EndStep::End(to) = decide_end(policy, status, from_db(since), now) else {
                continue;
            };
            if !end_one(&mut tx, id, to, now).await? {
                continue;
            }
            let kind = match to {
                SubscriptionStatus::Paused => {
                    ended.paused += 1;
                    EventKind::SubscriptionPaused
                }
                _ => {
                    ended.cancelled += 1;
                    EventKind::SubscriptionCancelled
                }
            };
            let data = json!({
                "subscription_id": id,
                "account_id": account_id,
                "status": to,
                "reason": REASON,
                "charge_id": charge_id,
                "cycle": cycle,
                "past_due_since": since,
            });
            tracing::warn!(event = kind.as_str(), subscription_id = %id, charge_id = %charge_id,
                reason = REASON, "past due past its grace; dunning ended it");
            events.push((kind, data));
        }
        enqueue_many(&mut tx, self.webhook_endpoints(), events, now).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

/// Moves one subscription from past due to `to`, with what is unsent of it (nothing is sent
/// for a cancelled or paused subscription). False when it is no longer past due.
async fn end_one(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    to: SubscriptionStatus,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let (charges_to, why) = match to {
        SubscriptionStatus::Paused => ("skipped", "subscription paused: dunning ended"),
        _ => ("cancelled", "subscription cancelled: dunning ended"),
    };
    let moved = sqlx::query(
        "UPDATE subscriptions SET status = $2, updated_at = $3, \
           paused_at = CASE WHEN $2 = 'paused' THEN $3 ELSE paused_at END, \
           cancelled_at = CASE WHEN $2 = 'cancelled' THEN $3 ELSE cancelled_at END, \
           next_due_at = CASE WHEN $2 = 'cancelled' THEN NULL ELSE next_due_at END \
         WHERE id = $1 AND status = 'past_due'",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    settle_unsent(&mut *tx, id, charges_to, why, now).await?;
    Ok(true)
}
