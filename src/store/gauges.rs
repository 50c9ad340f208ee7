//! What `/metrics` reads from the database at scrape time: the due backlog and the suspended
//! accounts. Read, not counted in memory, so every replica reports the same numbers for the
//! shared database and a restart loses nothing.

use chrono::{DateTime, Utc};
use jiff::Timestamp;

use super::{Store, StoreError, from_db, to_db};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BillingGauges {
    /// What a billing run at `now` would work on: open charges whose (re)try time has come on an
    /// active account and subscription, plus active subscriptions whose next cycle is due but
    /// not yet materialized (one each, even if it missed several cycles).
    pub charges_due: i64,
    /// The earliest of their "due since" instants (a charge's `next_attempt_at`, a
    /// subscription's `next_due_at`); `None` when nothing is due.
    pub oldest_due_at: Option<Timestamp>,
    /// Accounts in state `suspended` (card account terminated, waiting for re-initialization).
    pub accounts_suspended: i64,
}

impl Store {
    /// The scrape-time gauges, in one query. Charges parked behind a subscription that is not
    /// active (past due, paused…) are left out: they wait for the merchant, not for billing, and
    /// would otherwise keep the oldest-due age growing forever.
    pub async fn billing_gauges(&self, now: Timestamp) -> Result<BillingGauges, StoreError> {
        let (charges_due, oldest, accounts_suspended): (i64, Option<DateTime<Utc>>, i64) =
            sqlx::query_as(
                "WITH due AS ( \
                   SELECT c.next_attempt_at AS since FROM charges c \
                   JOIN payment_accounts a ON a.id = c.account_id \
                   JOIN subscriptions s ON s.id = c.subscription_id \
                   WHERE c.status = 'due' AND c.next_attempt_at <= $1 \
                     AND a.state = 'active' AND s.status = 'active' \
                   UNION ALL \
                   SELECT next_due_at FROM subscriptions \
                   WHERE status = 'active' AND next_due_at <= $1) \
                 SELECT (SELECT count(*) FROM due), (SELECT min(since) FROM due), \
                        (SELECT count(*) FROM payment_accounts WHERE state = 'suspended')",
            )
            .bind(to_db(now))
            .fetch_one(self.pool())
            .await?;
        Ok(BillingGauges {
            charges_due,
            oldest_due_at: oldest.map(from_db),
            accounts_suspended,
        })
    }
}

impl Store {
    /// The next instant after `now` at which something falls due: a subscription's next cycle
    /// or a charge's retry. Both are the first entry of a partial index.
    pub async fn next_due_after(&self, now: Timestamp) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT least( \
               (SELECT min(next_due_at) FROM subscriptions \
                WHERE status = 'active' AND next_due_at > $1), \
               (SELECT min(next_attempt_at) FROM charges \
                WHERE status = 'due' AND next_attempt_at > $1))",
        )
        .bind(to_db(now))
        .fetch_one(self.pool())
        .await?;
        Ok(next.map(from_db))
    }
}
