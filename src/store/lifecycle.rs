//! What a merchant can do to a subscription while billing runs: pause, resume, cancel, change
//! the amount. Each change locks the subscription row, so it is ordered with materialization
//! (which locks the same rows), and each has one defined effect on charges in every state:
//! - charges not yet written down (no request body, no live lease) follow the change;
//! - a charge whose request is written down may already be at the gateway: it is completed
//!   under its own key and body, never dropped and never re-keyed.

use jiff::Timestamp;
use uuid::Uuid;

use super::subscriptions::{COLUMNS, Subscription};
use super::{Store, StoreError, to_db};
use crate::domain::lifecycle::{Command, Transition, decide};

impl Store {
    async fn lock_subscription(
        tx: &mut sqlx::PgConnection,
        id: Uuid,
    ) -> Result<Subscription, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM subscriptions WHERE id = $1 FOR UPDATE");
        sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "subscription",
                id: id.to_string(),
            })
    }

    /// One lifecycle command: the subscription locked, the rules asked, `apply` writing the
    /// transition they allow, all in one transaction; then the subscription as it now is.
    async fn command(
        &self,
        id: Uuid,
        command: Command,
        apply: impl AsyncFnOnce(
            &mut sqlx::PgConnection,
            &Subscription,
            Transition,
        ) -> Result<(), StoreError>,
    ) -> Result<Subscription, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sub = Self::lock_subscription(&mut tx, id).await?;
        let transition = allowed(&sub, command)?;
        apply(&mut tx, &sub, transition).await?;
        tx.commit().await?;
        self.subscription(id).await
    }

    /// Stops billing now. Cycles that fall due while paused are not billed; an unsent charge
    /// waiting for its (re)try is skipped.
    pub async fn pause_subscription(
        &self,
        id: Uuid,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        self.command(id, Command::Pause, async |tx, _, _| {
            settle_unsent(tx, id, "skipped", "subscription paused", now).await?;
            set(tx, id, "status = 'paused', paused_at = $2", now).await
        })
        .await
    }

    /// Billing again from the next cycle due after `now` (paused), or from where it stopped
    /// (past due: the merchant has settled the failure).
    pub async fn resume_subscription(
        &self,
        id: Uuid,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        self.command(
            id,
            Command::Resume,
            async |tx, sub, transition| match transition {
                Transition::ResumeFromPause => resume_from_pause(tx, sub, now).await,
                Transition::ResumeFromPastDue => set(tx, id, "status = 'active'", now).await,
                other => unreachable!("resume decided {other:?}"),
            },
        )
        .await
    }

    /// Cancels now (unsent charges are cancelled) or at the end of the current period (the next
    /// cycle is not billed; the subscription ends when it falls due).
    pub async fn cancel_subscription(
        &self,
        id: Uuid,
        at_period_end: bool,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        self.command(id, Command::Cancel, async |tx, sub, _| {
            if at_period_end && sub.next_due_at.is_some() {
                return set(tx, id, "cancel_at_period_end = true", now).await;
            }
            settle_unsent(tx, id, "cancelled", "subscription cancelled", now).await?;
            set(
                tx,
                id,
                "status = 'cancelled', cancelled_at = $2, next_due_at = NULL",
                now,
            )
            .await
        })
        .await
    }

    /// Changes the amount of every cycle not yet materialized. A cycle's amount is fixed when
    /// it becomes a charge (at its due time), so the answer says from which cycle the new
    /// amount applies.
    pub async fn change_amount(
        &self,
        id: Uuid,
        amount_minor: i64,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        self.command(id, Command::ChangeAmount, async |tx, _, _| {
            sqlx::query(
                "UPDATE subscriptions SET amount_minor = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(amount_minor)
            .bind(to_db(now))
            .execute(tx)
            .await?;
            Ok(())
        })
        .await
    }

    /// Replaces the merchant's reference and metadata.
    pub async fn annotate_subscription(
        &self,
        id: Uuid,
        merchant_reference: Option<Option<String>>,
        metadata: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Result<Subscription, StoreError> {
        let (set_reference, reference) = match merchant_reference {
            Some(r) => (true, r),
            None => (false, None),
        };
        let done = sqlx::query(
            "UPDATE subscriptions SET \
             merchant_reference = CASE WHEN $2 THEN $3 ELSE merchant_reference END, \
             metadata = COALESCE($4, metadata), updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(set_reference)
        .bind(reference)
        .bind(metadata)
        .bind(to_db(now))
        .execute(self.pool())
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound {
                what: "subscription",
                id: id.to_string(),
            });
        }
        self.subscription(id).await
    }
}

/// `UPDATE subscriptions SET <assignments>, updated_at = $2 WHERE id = $1`, `$2` being `now`.
async fn set(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    assignments: &'static str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let sql = format!("UPDATE subscriptions SET {assignments}, updated_at = $2 WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(to_db(now))
        .execute(tx)
        .await?;
    Ok(())
}

/// A paused subscription billed again from the first cycle due after `now`: the cycles that
/// fell due while it was paused are not billed.
async fn resume_from_pause(
    tx: &mut sqlx::PgConnection,
    sub: &Subscription,
    now: Timestamp,
) -> Result<(), StoreError> {
    let schedule = sub.schedule()?;
    let mut next = sub.next_cycle.max(1) as u32;
    while schedule.due_at(next).is_some_and(|due| due <= now) {
        next += 1;
    }
    sqlx::query(
        "UPDATE subscriptions SET status = 'active', paused_at = NULL, next_cycle = $2, \
         next_due_at = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(sub.id)
    .bind(next as i32)
    .bind(schedule.due_at(next).map(to_db))
    .bind(to_db(now))
    .execute(tx)
    .await?;
    Ok(())
}

/// Moves charges with nothing outstanding at the gateway to `status`: held ones (their last
/// answer is known) and due ones with no request written. A lease on one of those is dropped
/// with it: the daemon holding it finds the charge settled when it writes its request down
/// (`start_sends` is fenced on the status) and sends nothing.
pub(super) async fn settle_unsent(
    tx: &mut sqlx::PgConnection,
    subscription_id: Uuid,
    status: &str,
    reason: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE charges SET status = $2, failure_reason = $3, settled_at = $4, \
         lease_owner = NULL, lease_expires_at = NULL \
         WHERE subscription_id = $1 AND (status = 'held' OR (status = 'due' AND request_body IS NULL))",
    )
    .bind(subscription_id)
    .bind(status)
    .bind(reason)
    .bind(to_db(now))
    .execute(tx)
    .await?
    .rows_affected())
}

/// The transition the rules allow for this command, or the refusal as a conflict naming the
/// subscription.
fn allowed(sub: &Subscription, command: Command) -> Result<Transition, StoreError> {
    decide(sub.status, command)
        .map_err(|refusal| StoreError::Conflict(format!("subscription {} {refusal}", sub.id)))
}
