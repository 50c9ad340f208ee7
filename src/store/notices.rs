//! Notices ahead of a charge, each recorded once under its occasion (see the `notices` table)
//! in the same transaction as its webhook event, so a restart or a second replica never sends
//! one twice. Both scans read only subscriptions due within the lead time, through
//! `subscriptions_due`.

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use super::outbox::{EventKind, enqueue_many};
use super::{Store, StoreError, from_db, to_db};
use crate::domain::notices::{card_expired_by, card_expires_at};

/// The next cycles of active subscriptions on active accounts falling due in `($1, $2]`, in
/// (due time, id) order after the cursor `($3, $4)`, `$5` at most, each recorded as announced
/// unless it already was. A cycle already due is past announcing (after downtime, or a catch-up
/// that skips it); a subscription ending at its period's end has no next charge. Returns the
/// cycles this batch announced, and how many it read and the last of them (the next cursor).
/// `next_due_at >= $3` repeats the cursor in a form the due-time index can start from.
const UPCOMING: &str = "WITH batch AS ( \
       SELECT s.id, s.next_cycle, s.next_due_at \
       FROM subscriptions s JOIN payment_accounts a ON a.id = s.account_id \
       WHERE s.status = 'active' AND a.state = 'active' AND NOT s.cancel_at_period_end \
         AND s.next_due_at > $1 AND s.next_due_at <= $2 \
         AND s.next_due_at >= $3 AND (s.next_due_at, s.id) > ($3, $4) \
       ORDER BY s.next_due_at, s.id LIMIT $5), \
     announced AS ( \
       INSERT INTO notices (kind, subject_id, occasion, noticed_at) \
       SELECT 'charge.upcoming', id, next_cycle::text, $1 FROM batch \
       ON CONFLICT DO NOTHING RETURNING subject_id) \
     SELECT coalesce((SELECT array_agg(subject_id) FROM announced), '{}'), \
       (SELECT count(*) FROM batch), \
       (SELECT next_due_at FROM batch ORDER BY next_due_at DESC, id DESC LIMIT 1), \
       (SELECT id FROM batch ORDER BY next_due_at DESC, id DESC LIMIT 1)";

/// Cycles read per transaction. A book imported in one go (or a lead time raised) can bring a
/// hundred thousand cycles into the lead time at once; in bounded batches the daemon's memory
/// stays flat and no transaction holds back the cleanup of the billing tables.
const UPCOMING_BATCH: i64 = 1_000;

/// The cycles just announced, with what the event says about them.
const UPCOMING_DATA: &str = "SELECT s.id, s.account_id, s.next_cycle, s.next_due_at, \
       s.amount_minor, s.currency, s.merchant_reference \
     FROM subscriptions s WHERE s.id = ANY($1)";

/// Accounts with a stored card expiry and a charge due in `($1, $2]`: the candidates the pure
/// rule (`card_expired_by`) decides on.
const CARD_CANDIDATES: &str = "SELECT a.id, a.card_expiry, min(s.next_due_at) \
     FROM subscriptions s JOIN payment_accounts a ON a.id = s.account_id \
     WHERE s.status = 'active' AND a.state = 'active' AND a.card_expiry IS NOT NULL \
       AND s.next_due_at > $1 AND s.next_due_at <= $2 \
     GROUP BY a.id, a.card_expiry";

type UpcomingRow = (Uuid, Uuid, i32, DateTime<Utc>, i64, String, Option<String>);
/// Announced ids, cycles read, and the last one read (due time and id).
type UpcomingBatch = (Vec<Uuid>, i64, Option<DateTime<Utc>>, Option<Uuid>);

impl Store {
    /// Announces every cycle falling due within `lead` of `now`, a batch per transaction;
    /// returns how many.
    pub async fn notify_upcoming(
        &self,
        now: Timestamp,
        lead: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut sent = 0;
        let mut after = (to_db(now), Uuid::nil());
        loop {
            let (n, last) = self.notify_upcoming_batch(now, lead, after).await?;
            sent += n;
            match last {
                Some(last) => after = last,
                None => return Ok(sent),
            }
        }
    }

    /// One batch after the cursor `after`: how many it announced, and the cursor for the next
    /// (None: nothing more within the lead time).
    async fn notify_upcoming_batch(
        &self,
        now: Timestamp,
        lead: Timestamp,
        after: (DateTime<Utc>, Uuid),
    ) -> Result<(u64, Option<(DateTime<Utc>, Uuid)>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (ids, read, last_due, last_id): UpcomingBatch = sqlx::query_as(UPCOMING)
            .bind(to_db(now))
            .bind(to_db(lead))
            .bind(after.0)
            .bind(after.1)
            .bind(UPCOMING_BATCH)
            .fetch_one(&mut *tx)
            .await?;
        let next = match (last_due, last_id) {
            (Some(due), Some(id)) if read == UPCOMING_BATCH => Some((due, id)),
            _ => None,
        };
        if ids.is_empty() {
            tx.commit().await?;
            return Ok((0, next));
        }
        let rows: Vec<UpcomingRow> = sqlx::query_as(UPCOMING_DATA)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let events = rows
            .into_iter()
            .map(|(id, account, cycle, due, amount, currency, reference)| {
                let data = json!({"subscription_id": id, "account_id": account, "cycle": cycle,
                    "due_at": due, "amount": amount, "currency": currency,
                    "merchant_reference": reference});
                (EventKind::ChargeUpcoming, data)
            })
            .collect();
        enqueue_many(&mut tx, self.webhook_endpoints(), events, now).await?;
        tx.commit().await?;
        Ok((ids.len() as u64, next))
    }

    /// Warns of every stored card that will have expired when a charge due within `lead` of
    /// `now` goes out, once per card expiry; returns how many.
    pub async fn notify_card_expiring(
        &self,
        now: Timestamp,
        lead: Timestamp,
    ) -> Result<u64, StoreError> {
        let candidates: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(CARD_CANDIDATES)
            .bind(to_db(now))
            .bind(to_db(lead))
            .fetch_all(&self.pool)
            .await?;
        let mut sent = 0;
        for (account, expiry, due) in candidates {
            if !card_expired_by(&expiry, from_db(due)) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            let fresh = sqlx::query(
                "INSERT INTO notices (kind, subject_id, occasion, noticed_at) \
                 VALUES ('account.card_expiring', $1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(&expiry)
            .bind(to_db(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if fresh == 1 {
                let expires = card_expires_at(&expiry).map(to_db);
                let data = json!({"account_id": account, "card_expiry": expiry,
                    "expires_at": expires, "next_due_at": due});
                let events = vec![(EventKind::AccountCardExpiring, data)];
                enqueue_many(&mut tx, self.webhook_endpoints(), events, now).await?;
                sent += 1;
            }
            tx.commit().await?;
        }
        Ok(sent)
    }
}
