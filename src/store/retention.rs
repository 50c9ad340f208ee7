//! Retention: what may be deleted once it is old, in small batches so that pruning never holds
//! long locks or writes a huge transaction. Kept forever: accounts, subscriptions and charges —
//! one row per billed cycle is the ledger, and the hot path never reads settled charges (it
//! goes through partial indexes of open ones), so their number does not slow billing.
//! Pruned: the raw request log of settled charges (`charge_attempts`) and webhook events whose
//! deliveries are all finished, with their deliveries and delivery attempts.

use jiff::Timestamp;
use serde::Serialize;

use super::{Store, StoreError, to_db};

/// Rows deleted per statement.
const BATCH: i64 = 5_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub charge_attempts: u64,
    pub webhook_events: u64,
}

/// The attempts of up to $2 charges that were due and settled before $1. Open and held charges
/// keep theirs: an unknown outcome is settled from them.
const PRUNE_ATTEMPTS_SQL: &str = "WITH doomed AS ( \
       SELECT c.id FROM charges c \
       WHERE c.due_at < $1 AND c.settled_at < $1 \
         AND c.status IN ('approved', 'failed', 'skipped', 'cancelled') \
         AND EXISTS (SELECT 1 FROM charge_attempts t WHERE t.charge_id = c.id) \
       ORDER BY c.due_at LIMIT $2) \
     DELETE FROM charge_attempts t USING doomed WHERE t.charge_id = doomed.id";

/// Up to $2 events created before $1 with no delivery still pending, and what hangs off them.
/// The foreign keys are checked at the end of the statement, when all three are gone.
const PRUNE_EVENTS_SQL: &str = "WITH doomed AS ( \
       SELECT e.id FROM webhook_events e \
       WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
         WHERE d.event_id = e.id AND d.status = 'pending') \
       ORDER BY e.created_at, e.id LIMIT $2), \
     attempts AS (DELETE FROM webhook_attempts a USING webhook_deliveries d, doomed \
       WHERE a.delivery_id = d.id AND d.event_id = doomed.id), \
     deliveries AS (DELETE FROM webhook_deliveries d USING doomed WHERE d.event_id = doomed.id) \
     DELETE FROM webhook_events e USING doomed WHERE e.id = doomed.id";

impl Store {
    /// Deletes, batch by batch, everything prunable from before `cutoff`.
    pub async fn prune(&self, cutoff: Timestamp) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            charge_attempts: self.prune_batches(PRUNE_ATTEMPTS_SQL, cutoff).await?,
            webhook_events: self.prune_batches(PRUNE_EVENTS_SQL, cutoff).await?,
        })
    }

    async fn prune_batches(&self, sql: &'static str, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(sql)
                .bind(to_db(cutoff))
                .bind(BATCH)
                .execute(&self.pool)
                .await?
                .rows_affected();
            total += deleted;
            if deleted == 0 {
                return Ok(total);
            }
        }
    }
}
