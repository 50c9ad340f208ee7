//! Writing a batch of claimed charges down before any of them is sent: each one's exact
//! request (kept as it is when already written) and a `charge_attempts` row saying a request
//! may now reach the gateway — for the whole batch in one statement and one commit, where a
//! charge at a time would cost two commits each.

use std::collections::HashMap;

use jiff::Timestamp;
use uuid::Uuid;

use super::claims::{ClaimedCharge, lease_fence};
use super::{Store, StoreError, to_db};

/// One charge of a batch about to be sent.
pub struct PlannedSend<'a> {
    pub charge: &'a ClaimedCharge,
    pub sequence: &'a str,
    pub body: &'a str,
    pub send_no: i32,
}

/// Fenced per row like `STILL_OURS`: a charge whose claim is no longer this one (lease lost,
/// expired, taken over, or the charge settled meanwhile) gets neither its request written nor
/// an attempt row, and is not sent. A request already written is never replaced: the stored
/// one must be what was passed in (a resend repeats it byte for byte).
pub const START_SENDS_SQL: &str = concat!(
    "WITH i AS (SELECT * FROM unnest($2::uuid[], $3::int[], $4::bigint[], $5::text[], \
       $6::text[], $7::int[]) AS i(id, attempt_no, token, sequence, body, send_no)), \
     ours AS ( \
       UPDATE charges c SET request_body = i.body, sequence = i.sequence FROM i \
       WHERE ",
    lease_fence!(row: "c.", id: "i.id", owner: "$1", attempt: "i.attempt_no", token: "i.token",
        unexpired_at: "$8"),
    " AND (c.request_body IS NULL OR c.request_body = i.body) \
       RETURNING c.id, c.attempt_no, c.idempotency_key, c.order_id) \
     INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, order_id, \
       sequence, sent_at) \
     SELECT o.id, o.attempt_no, i.send_no, o.idempotency_key, o.order_id, i.sequence, $8 \
     FROM ours o JOIN i ON i.id = o.id \
     RETURNING charge_id, id"
);

impl Store {
    /// Writes the batch down; returns the attempt row of each charge that is still ours. The
    /// others are simply absent: not sent.
    pub async fn start_sends(
        &self,
        worker: Uuid,
        sends: &[PlannedSend<'_>],
        now: Timestamp,
    ) -> Result<HashMap<Uuid, i64>, StoreError> {
        if sends.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = sends.iter().map(|s| s.charge.id).collect();
        let attempts: Vec<i32> = sends.iter().map(|s| s.charge.attempt_no).collect();
        let tokens: Vec<i64> = sends.iter().map(|s| s.charge.lease_token).collect();
        let sequences: Vec<&str> = sends.iter().map(|s| s.sequence).collect();
        let bodies: Vec<&str> = sends.iter().map(|s| s.body).collect();
        let send_nos: Vec<i32> = sends.iter().map(|s| s.send_no).collect();
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(START_SENDS_SQL)
            .bind(worker)
            .bind(&ids)
            .bind(&attempts)
            .bind(&tokens)
            .bind(&sequences)
            .bind(&bodies)
            .bind(&send_nos)
            .bind(to_db(now))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Gives back charges written down but never sent (the daemon is stopping): their attempt
    /// rows go — nothing reached the gateway — and their leases are released, so another
    /// daemon sends them at once, under the same key and with the same request.
    pub async fn release_unsent(
        &self,
        worker: Uuid,
        unsent: &[(Uuid, i64, i64)],
    ) -> Result<(), StoreError> {
        if unsent.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = unsent.iter().map(|u| u.0).collect();
        let tokens: Vec<i64> = unsent.iter().map(|u| u.1).collect();
        let attempts: Vec<i64> = unsent.iter().map(|u| u.2).collect();
        let mut tx = self.pool.begin().await?;
        let released: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE charges c SET lease_owner = NULL, lease_expires_at = NULL \
             FROM unnest($2::uuid[], $3::bigint[]) AS u(id, token) \
             WHERE c.id = u.id AND c.lease_owner = $1 AND c.lease_token = u.token \
             RETURNING c.id",
        )
        .bind(worker)
        .bind(&ids)
        .bind(&tokens)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM charge_attempts WHERE id = ANY($1) AND charge_id = ANY($2) \
             AND finished_at IS NULL",
        )
        .bind(&attempts)
        .bind(&released)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
