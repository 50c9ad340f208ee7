//! Store operations only the tests need: billing's claim from the start of the queue with no
//! request written down, and one charge's request written down without logging a send, so a
//! test can drive a claim step by step. They are built on the store's own statements (the same
//! claim, the same lease fence), not on their own SQL rules.

use billingd::store::claims::{ClaimedCharge, QueueCursor, STILL_OURS};
use billingd::store::{Store, StoreError, to_db};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

/// The test-only operations, as methods of the store so a test reads as a run does.
#[allow(async_fn_in_trait)] // the tests await these on their own runtime
pub trait TestClaims {
    /// The store's claim, as a run's first claim makes it (from the start of the queue).
    async fn claim_charges(
        &self,
        worker: Uuid,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ClaimedCharge>, StoreError>;

    /// Writes one charge's exact request body and its sequence, without logging a send
    /// (billing writes a whole batch, with its attempt rows, through `start_sends`). Fenced like
    /// every write of a claim (`STILL_OURS`): a conflict if the lease was lost or expired, or
    /// the charge was settled (cancelled, skipped, held) meanwhile.
    async fn fix_request(
        &self,
        charge: &ClaimedCharge,
        worker: Uuid,
        sequence: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

impl TestClaims for Store {
    async fn claim_charges(
        &self,
        worker: Uuid,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ClaimedCharge>, StoreError> {
        let mut cursor = QueueCursor::default();
        let claimed = self
            .claim_and_write(&mut cursor, worker, now, lease, limit, |_| None)
            .await?;
        let mut charges: Vec<ClaimedCharge> = claimed.into_iter().map(|c| c.charge).collect();
        // The claim hands back no stored request (billing keeps the one it built); a test
        // reads what is stored, as a resend would.
        for c in &mut charges {
            c.request_body = sqlx::query_scalar("SELECT request_body FROM charges WHERE id = $1")
                .bind(c.id)
                .fetch_one(self.pool())
                .await?;
        }
        Ok(charges)
    }

    async fn fix_request(
        &self,
        charge: &ClaimedCharge,
        worker: Uuid,
        sequence: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE charges SET request_body = $6, sequence = $7 \
             WHERE {STILL_OURS} AND request_body IS NULL"
        )))
        .bind(charge.id)
        .bind(worker)
        .bind(charge.attempt_no)
        .bind(to_db(now))
        .bind(charge.lease_token)
        .bind(body)
        .bind(sequence)
        .execute(self.pool())
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::Conflict(format!(
                "charge {}: lease lost before its request was written",
                charge.id
            )));
        }
        Ok(())
    }
}
