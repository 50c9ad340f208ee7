//! Idempotent API writes: the first request with a key is recorded before it runs, its answer
//! after; a repeat gets the recorded answer. A merchant's retry never creates a second
//! subscription.

use jiff::{SignedDuration, Timestamp};

use super::{Store, StoreError, to_db};

/// A request recorded without an answer for this long was cut off (the daemon died mid-way);
/// the key may then be used again.
const ABANDONED_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// `202 Accepted`: the request was taken on but not finished; its repeat runs it again.
const ACCEPTED: i32 = 202;

pub enum Claim {
    /// First use of the key (or a repeat of a request answered 202): run the request, then
    /// `finish_idempotent`.
    Fresh,
    /// The same request was answered before: send this again.
    Replay { status: u16, body: Vec<u8> },
    /// The key was used with a different request.
    Mismatch,
    /// The same request is still being processed.
    InProgress,
}

impl Store {
    pub async fn claim_idempotency_key(
        &self,
        key: &str,
        fingerprint: &[u8],
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO api_idempotency_keys (key, fingerprint, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(to_db(now))
        .execute(self.pool())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let (stored, status, body): (Vec<u8>, Option<i32>, Option<Vec<u8>>) = sqlx::query_as(
            "SELECT fingerprint, status, response_body FROM api_idempotency_keys WHERE key = $1",
        )
        .bind(key)
        .fetch_one(self.pool())
        .await?;
        if stored != fingerprint {
            return Ok(Claim::Mismatch);
        }
        if status == Some(ACCEPTED) {
            // A 202 reported progress, not an outcome: the repeat runs again and continues
            // where the first stopped (a registration whose gateway step is still owed).
            let retaken = sqlx::query(
                "UPDATE api_idempotency_keys SET status = NULL, response_body = NULL, created_at = $2 \
                 WHERE key = $1 AND status = $3",
            )
            .bind(key)
            .bind(to_db(now))
            .bind(ACCEPTED)
            .execute(self.pool())
            .await?
            .rows_affected();
            return Ok(if retaken == 1 {
                Claim::Fresh
            } else {
                Claim::InProgress
            });
        }
        if let (Some(status), Some(body)) = (status, body) {
            return Ok(Claim::Replay {
                status: status as u16,
                body,
            });
        }
        // Take over an abandoned claim, atomically, so two retries cannot both run it.
        let cutoff = now.checked_sub(ABANDONED_AFTER).unwrap_or(now);
        let retaken = sqlx::query(
            "UPDATE api_idempotency_keys SET created_at = $3 \
             WHERE key = $1 AND status IS NULL AND created_at < $2",
        )
        .bind(key)
        .bind(to_db(cutoff))
        .bind(to_db(now))
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(if retaken == 1 {
            Claim::Fresh
        } else {
            Claim::InProgress
        })
    }

    pub async fn finish_idempotent(
        &self,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_idempotency_keys SET status = $2, response_body = $3 WHERE key = $1",
        )
        .bind(key)
        .bind(status as i32)
        .bind(body)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A request that failed on our side (5xx) may be retried with the same key.
    pub async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM api_idempotency_keys WHERE key = $1 AND status IS NULL")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
