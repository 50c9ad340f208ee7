//! Claiming charges to send. A claim is a lease, not a transaction: the row is marked as ours
//! until `lease_expires_at`, the transaction commits, and the network call happens outside any
//! transaction. A daemon that dies mid-send loses its lease, and whoever claims the charge next
//! resends the same body under the same Idempotency-Key.

use chrono::{DateTime, Utc};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{Store, StoreError, db_min, to_db};
pub use crate::domain::charge::ClaimedCharge;

/// The lease on a charge is free at `at`: nobody holds it, or its holder's time ran out. Written
/// once for every statement that may take a charge over (the claim's window, the claim, a
/// wake-up for reconciliation); `row` prefixes the column ("" or "c."). A macro, so SQL
/// constants can `concat!` it.
macro_rules! lease_is_free {
    (row: $c:literal, at: $now:literal) => {
        concat!(
            "(",
            $c,
            "lease_expires_at IS NULL OR ",
            $c,
            "lease_expires_at <= ",
            $now,
            ")"
        )
    };
}
pub(crate) use lease_is_free;

/// One window of the queue: the next open charges in sending order after a keyset position
/// ($2, $3, $4). A single-table scan of `charges_claim_order` that stops after $5 rows: no join
/// the planner could misjudge. A macro, so `claim_writes` can read the same window.
macro_rules! claim_window {
    () => {
        concat!(
            "SELECT c.id, c.next_attempt_at, c.due_at FROM charges c \
             WHERE c.status = 'due' AND c.next_attempt_at <= $1 AND ",
            $crate::store::claims::lease_is_free!(row: "c.", at: "$1"),
            " AND (c.next_attempt_at, c.due_at, c.id) > ($2, $3, $4) \
             ORDER BY c.next_attempt_at, c.due_at, c.id LIMIT $5"
        )
    };
}
pub(crate) use claim_window;

pub const CLAIM_WINDOW_SQL: &str = claim_window!();

/// Whether a charge `c` (its account `a`, its subscription `s`) may be claimed at $1. Two rules
/// keep a series in order: no earlier cycle of the same subscription is still open, and a
/// subscription with no first payment on record has one charge in flight at most
/// (`domain::series`: while a first is out, the series' other charges wait).
///
/// Written so that a stale estimate cannot make a claim scan the queue: both rules are
/// sub-plans probed per row through an index on their own key — the earlier-cycle rule through
/// `one_charge_per_cycle` (the status test `<> ALL` matches no partial index), the series rule
/// likewise through `one_charge_per_cycle` (a series is a subscription's), and only for
/// subscriptions without a series.
macro_rules! claim_rules {
    () => {
        concat!(
            "c.",
            $crate::store::charge_is_due!(),
            " AND c.next_attempt_at <= $1 AND ",
            $crate::store::claims::lease_is_free!(row: "c.", at: "$1"),
            " AND ((a.state = 'active' AND s.status = 'active') OR c.request_body IS NOT NULL) \
             AND (c.cycle = 1 OR NOT EXISTS (SELECT 1 FROM charges e \
                  WHERE e.subscription_id = c.subscription_id AND e.cycle < c.cycle \
                    AND e.",
            $crate::store::charge_is_open!(),
            ")) AND (s.series_payment_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM charges f \
                  WHERE f.subscription_id = c.subscription_id AND f.",
            $crate::store::charge_is_due!(),
            " AND f.id <> c.id AND (f.sequence = 'first' OR f.lease_expires_at > $1)))"
        )
    };
}
pub(crate) use claim_rules;

/// The claim of up to $2 charges among one window ($5, in sending order), by `claim_rules!`.
/// The window's rows are reached through the primary key.
pub const CLAIM_SQL: &str = concat!(
    "WITH candidates AS ( \
       SELECT c.id FROM unnest($5::uuid[]) WITH ORDINALITY AS w(id, n) \
       JOIN charges c ON c.id = w.id \
       JOIN payment_accounts a ON a.id = c.account_id \
       JOIN subscriptions s ON s.id = c.subscription_id \
       WHERE ",
    claim_rules!(),
    " ORDER BY w.n \
       LIMIT $2 \
       FOR UPDATE OF c SKIP LOCKED) \
     UPDATE charges c SET lease_owner = $3, lease_expires_at = $4, \
       lease_token = c.lease_token + 1 \
     FROM candidates, payment_accounts a, subscriptions s \
     WHERE c.id = candidates.id AND a.id = c.account_id AND s.id = c.subscription_id \
     RETURNING c.id, c.subscription_id, c.account_id, c.cycle, c.due_at, c.amount_minor, \
       c.currency, c.processing_model, c.is_last, c.attempt_no, c.idempotency_key, \
       c.order_id, c.sequence, c.request_body, c.last_outcome, c.gateway_payment_id, \
       CASE WHEN c.request_body IS NULL THEN 0 ELSE (SELECT count(*) FROM charge_attempts t \
         WHERE t.charge_id = c.id AND t.attempt_no = c.attempt_no) END AS sends_so_far, \
       CASE WHEN c.request_body IS NULL THEN NULL ELSE (SELECT min(t.sent_at) FROM charge_attempts t \
         WHERE t.charge_id = c.id AND t.attempt_no = c.attempt_no) END AS first_sent_at, \
       c.lease_token, c.lease_expires_at, \
       a.gateway, a.certitrade_account_id, a.payroc_terminal_id, a.payroc_token, \
       s.series_payment_id, s.series_scheme_reference, s.series_processing_model"
);

/// Where a run's claims are in the queue (a keyset position in sending order). Each claim goes
/// on from where the last one stopped and wraps around at the end, so a stretch of charges
/// that cannot go yet — the later charges of series whose first payment is still out — is
/// read once per pass over the queue, not once per claim.
#[derive(Debug, Clone)]
pub struct QueueCursor {
    pub(super) after: (DateTime<Utc>, DateTime<Utc>, Uuid),
}

impl Default for QueueCursor {
    fn default() -> Self {
        QueueCursor {
            after: (db_min(), db_min(), Uuid::nil()),
        }
    }
}

impl QueueCursor {
    pub(super) fn at_start(&self) -> bool {
        self.after.2.is_nil() && self.after.0 == db_min()
    }
}

impl Store {
    /// Claims this one charge if it is claimable now by the same rules as billing's claim
    /// (`claim_and_write`)
    /// (reconciliation records an approval it found through the ordinary fenced path).
    pub async fn claim_charge(
        &self,
        id: Uuid,
        worker: Uuid,
        now: Timestamp,
        lease: SignedDuration,
    ) -> Result<Option<ClaimedCharge>, StoreError> {
        let until = to_db(now.checked_add(lease).unwrap_or(now));
        let claimed = sqlx::query_as::<_, ClaimedCharge>(CLAIM_SQL)
            .bind(to_db(now))
            .bind(1_i64)
            .bind(worker)
            .bind(until)
            .bind(vec![id])
            .fetch_optional(&self.pool)
            .await?;
        Ok(claimed)
    }

    /// Replaces the stored request of the current attempt by the same request re-stamped
    /// (CertiTrade: a new Date once the old one is too old to be recognized as a resend), so
    /// that later resends repeat what was last sent. Fenced.
    pub async fn restamp_request(
        &self,
        charge: &ClaimedCharge,
        worker: Uuid,
        body: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE charges SET request_body = $6 WHERE {STILL_OURS} AND request_body IS NOT NULL"
        )))
        .bind(charge.id)
        .bind(worker)
        .bind(charge.attempt_no)
        .bind(to_db(now))
        .bind(charge.lease_token)
        .bind(body)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StoreError::Conflict(format!(
                "charge {}: lease lost before its request was re-stamped",
                charge.id
            )));
        }
        Ok(())
    }

    /// Logs a request as sent, before it goes out: a crash after this line leaves a trace that
    /// a request may have reached the gateway. Fenced: `None` if the claim is no longer ours
    /// (its lease expired or was taken over, or the attempt moved on) — then nothing is sent.
    pub async fn start_send(
        &self,
        charge: &ClaimedCharge,
        worker: Uuid,
        send_no: i32,
        sequence: &str,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, order_id, \
             sequence, sent_at) \
             SELECT $1, $3, $6, $7, $8, $9, $4 FROM charges WHERE {STILL_OURS} \
             RETURNING id"
        )))
        .bind(charge.id)
        .bind(worker)
        .bind(charge.attempt_no)
        .bind(to_db(now))
        .bind(charge.lease_token)
        .bind(send_no)
        .bind(charge.idempotency_key)
        .bind(&charge.order_id)
        .bind(sequence)
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// The lease fence, written once for every statement that acts for a claim: the charge is still
/// leased by this worker (`owner`) under this very claim (`token`: every claim increments it),
/// still at the claim's attempt, and still due. A daemon whose charge was taken over — by
/// another daemon or by itself, maybe for a newer attempt under a new key — matches no row.
/// With `unexpired_at`, the lease must also not have run out: a claim that sends or writes down
/// a request must still hold it, while an answer already received still counts when the lease
/// expired and nobody took the charge over. `row` prefixes each column ("" or "c."); the other
/// arguments are SQL expressions (parameters, or columns of an `unnest`). A macro, so SQL
/// constants can `concat!` it.
macro_rules! lease_fence {
    (row: $c:literal, id: $id:literal, owner: $owner:literal, attempt: $attempt:literal,
     token: $token:literal) => {
        concat!(
            $c, "id = ", $id, " AND ", $c, "lease_owner = ", $owner, " AND ",
            $c, "attempt_no = ", $attempt, " AND ", $c, "lease_token = ", $token, " AND ",
            $c, $crate::store::charge_is_due!()
        )
    };
    (row: $c:literal, id: $id:literal, owner: $owner:literal, attempt: $attempt:literal,
     token: $token:literal, unexpired_at: $now:literal) => {
        concat!(
            $crate::store::claims::lease_fence!(row: $c, id: $id, owner: $owner,
                attempt: $attempt, token: $token),
            " AND ", $c, "lease_expires_at > ", $now
        )
    };
}
pub(crate) use lease_fence;

/// The fence on every write a claim makes before or while sending ($1 charge, $2 worker,
/// $3 attempt number, $4 now, $5 the claim's lease token). Public for the tests' one-step
/// write-down, which is fenced the same way.
pub const STILL_OURS: &str = lease_fence!(row: "", id: "$1", owner: "$2", attempt: "$3",
    token: "$5", unexpired_at: "$4");
