//! Claiming a batch and writing it down in one statement: the requests are built from the
//! queue's window before the claim (`WINDOW_CHARGES_SQL`), and the claim stores each one with
//! its lease and logs its send — one row version of each charge and one statement per batch,
//! where a claim followed by a write-down (`start_sends`) would make two of each. The crash
//! guarantees are the same: a charge is sent only after its request and attempt row are
//! committed, under this claim's lease token.
//!
//! A request is built from the charge and its subscription's series (and the account's
//! credential, as a claim followed by a write-down reads it: at the claim); the claim takes a
//! charge only if neither changed since the window was read (the charge's row version, the
//! series' first payment), so what is stored is what was built from what is claimed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::claims::{QueueCursor, claim_rules, claim_window};
use super::{Store, StoreError, to_db};
use crate::domain::charge::ClaimedCharge;

/// One window of the queue (`CLAIM_WINDOW_SQL`), read with what a request is built from: each
/// charge as a claim would return it (its lease as it is now), its row version, and whether
/// its account and subscription are active. The window is read first, on its own index; its
/// rows are then reached by primary key.
pub const WINDOW_CHARGES_SQL: &str = concat!(
    "WITH w AS MATERIALIZED (",
    claim_window!(),
    ") SELECT c.id, c.subscription_id, c.account_id, c.cycle, c.due_at, c.amount_minor, \
       c.currency, c.processing_model, c.is_last, c.attempt_no, c.idempotency_key, \
       c.order_id, c.sequence, c.request_body, c.last_outcome, c.gateway_payment_id, \
       0::bigint AS sends_so_far, NULL::timestamptz AS first_sent_at, \
       c.lease_token, c.lease_expires_at, \
       a.gateway, a.certitrade_account_id, a.payroc_terminal_id, a.payroc_token, \
       s.series_payment_id, s.series_scheme_reference, s.series_processing_model, \
       w.next_attempt_at AS window_next_at, c.xmin::text::bigint AS charge_version, \
       (a.state = 'active' AND s.status = 'active') AS live \
     FROM w JOIN charges c ON c.id = w.id \
       JOIN payment_accounts a ON a.id = c.account_id \
       JOIN subscriptions s ON s.id = c.subscription_id \
     ORDER BY w.next_attempt_at, w.due_at, w.id"
);

/// The claim of up to $2 of the charges $5 (in sending order) by `claim_rules!`, each only if
/// its row ($6: any change since the window was read made a new row version) and its series'
/// first payment ($7) are as the window read them. Each one claimed with a request ($8
/// sequence, $9 body; NULL: claimed only) gets it stored and its send logged under an attempt
/// id drawn by the claim ($1 now, $3 worker, $4 lease until); a stored request is never
/// replaced. $10: the request was stored before (a resend: its send number follows the sends
/// already made).
pub const CLAIM_WRITE_SQL: &str = concat!(
    "WITH offered AS (SELECT * FROM unnest($5::uuid[], $6::bigint[], $7::text[], $8::text[], \
       $9::text[], $10::bool[]) WITH ORDINALITY \
       AS i(id, charge_version, series_payment_id, sequence, body, stored, n)), \
     candidates AS ( \
       SELECT c.id, i.sequence, i.body, i.stored FROM offered i \
       JOIN charges c ON c.id = i.id \
       JOIN payment_accounts a ON a.id = c.account_id \
       JOIN subscriptions s ON s.id = c.subscription_id \
       WHERE ",
    claim_rules!(),
    " AND c.xmin::text::bigint = i.charge_version \
         AND s.series_payment_id IS NOT DISTINCT FROM i.series_payment_id \
         AND (c.request_body IS NULL OR i.body IS NULL OR c.request_body = i.body) \
       ORDER BY i.n \
       LIMIT $2 \
       FOR UPDATE OF c SKIP LOCKED), \
     claimed AS ( \
       UPDATE charges c SET lease_owner = $3, lease_expires_at = $4, \
         lease_token = c.lease_token + 1, request_body = COALESCE(k.body, c.request_body), \
         sequence = COALESCE(k.sequence, c.sequence) \
       FROM candidates k, payment_accounts a, subscriptions s \
       WHERE c.id = k.id AND a.id = c.account_id AND s.id = c.subscription_id \
       RETURNING c.id, c.subscription_id, c.account_id, c.cycle, c.due_at, c.amount_minor, \
         c.currency, c.processing_model, c.is_last, c.attempt_no, c.idempotency_key, \
         c.order_id, c.sequence, NULL::text AS request_body, c.last_outcome, \
         c.gateway_payment_id, \
         CASE WHEN k.stored THEN (SELECT count(*) FROM charge_attempts t \
           WHERE t.charge_id = c.id AND t.attempt_no = c.attempt_no) ELSE 0 END AS sends_so_far, \
         CASE WHEN k.stored THEN (SELECT min(t.sent_at) FROM charge_attempts t \
           WHERE t.charge_id = c.id AND t.attempt_no = c.attempt_no) END AS first_sent_at, \
         c.lease_token, c.lease_expires_at, \
         a.gateway, a.certitrade_account_id, a.payroc_terminal_id, a.payroc_token, \
         s.series_payment_id, s.series_scheme_reference, s.series_processing_model, \
         CASE WHEN k.body IS NOT NULL THEN nextval('charge_attempts_id_seq') END AS attempt_id), \
     logged AS ( \
       INSERT INTO charge_attempts (id, charge_id, attempt_no, send_no, idempotency_key, \
         order_id, sequence, sent_at) \
       SELECT attempt_id, id, attempt_no, sends_so_far + 1, idempotency_key, order_id, \
         sequence, $1 \
       FROM claimed WHERE attempt_id IS NOT NULL) \
     SELECT * FROM claimed"
);

/// A charge of the window, as read.
#[derive(sqlx::FromRow)]
struct WindowCharge {
    #[sqlx(flatten)]
    charge: ClaimedCharge,
    window_next_at: DateTime<Utc>,
    charge_version: i64,
    live: bool,
}

/// A claimed charge and, when its request was written down with the claim, the request and
/// the attempt row of its next send (none: claimed without a request).
pub struct ClaimedWrite {
    pub charge: ClaimedCharge,
    pub written: Option<Written>,
}

pub struct Written {
    pub sequence: String,
    pub body: String,
    pub attempt_id: i64,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    charge: ClaimedCharge,
    attempt_id: Option<i64>,
}

/// What to write down for a charge of the window: its request (sequence, body) — the one stored,
/// taken out of the charge, or a new one — or nothing: the charge is claimed without one (a
/// payment to look up, or a request that cannot be built).
pub type Request = Option<(String, String)>;

impl Store {
    /// Claims up to `limit` sendable charges for `worker`, reading the queue from `cursor` on, a
    /// window at a time, until `limit` charges are claimed or one whole pass over the queue is
    /// done. A charge is sendable when it is due, its retry time has come, nobody holds a live
    /// lease on it, its account and subscription are active (or its request is already written
    /// down: that one may have reached the gateway, so it is completed under its key whatever
    /// happened to the account or the subscription since), and no earlier cycle of the same
    /// subscription is still open — a series is charged in order, so a subsequent payment
    /// always finds its first payment.
    ///
    /// Each claimed charge's request — given by `plan` for the charge as the window read it —
    /// is written down by the claim itself, with an attempt row for its next send. A stored
    /// request is never replaced: a charge whose stored request is not the one given is not
    /// claimed. `plan` may give none: the charge is then claimed without one.
    pub async fn claim_and_write(
        &self,
        cursor: &mut QueueCursor,
        worker: Uuid,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
        mut plan: impl FnMut(&mut ClaimedCharge) -> Request,
    ) -> Result<Vec<ClaimedWrite>, StoreError> {
        let until = to_db(now.checked_add(lease).unwrap_or(now));
        let now = to_db(now);
        let window = limit.max(1) as i64;
        let mut wraps_left = if cursor.at_start() { 0 } else { 1 };
        let mut claimed: Vec<ClaimedWrite> = Vec::new();
        while claimed.len() < limit as usize {
            let rows: Vec<WindowCharge> = sqlx::query_as(WINDOW_CHARGES_SQL)
                .bind(now)
                .bind(cursor.after.0)
                .bind(cursor.after.1)
                .bind(cursor.after.2)
                .bind(window)
                .fetch_all(&self.pool)
                .await?;
            let full = rows.len() as i64 == window;
            if let Some(last) = rows.last() {
                cursor.after = (last.window_next_at, last.charge.due_at, last.charge.id);
                let positions: HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)> = rows
                    .iter()
                    .map(|r| (r.charge.id, (r.window_next_at, r.charge.due_at)))
                    .collect();
                let offered = offer(rows, &mut plan);
                let wanted = limit as usize - claimed.len();
                let mut batch = self
                    .claim_offered(&offered, worker, now, until, wanted)
                    .await?;
                if batch.len() == wanted {
                    // Full: the window's rows after the last one claimed were not looked at;
                    // the next claim starts right after it.
                    let taken: HashSet<Uuid> = batch.iter().map(|b| b.charge.id).collect();
                    if let Some((id, (next_at, due_at))) = offered
                        .iter()
                        .rev()
                        .find(|o| taken.contains(&o.id))
                        .and_then(|o| positions.get(&o.id).map(|p| (o.id, *p)))
                    {
                        cursor.after = (next_at, due_at, id);
                    }
                    claimed.append(&mut batch);
                    break;
                }
                claimed.append(&mut batch);
            }
            if !full {
                *cursor = QueueCursor::default();
                if wraps_left == 0 {
                    break;
                }
                wraps_left -= 1;
            }
        }
        claimed.sort_by_key(|c| c.charge.due_at);
        Ok(claimed)
    }

    async fn claim_offered(
        &self,
        offered: &[Offered],
        worker: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        wanted: usize,
    ) -> Result<Vec<ClaimedWrite>, StoreError> {
        if offered.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ClaimedRow> = sqlx::query_as(CLAIM_WRITE_SQL)
            .bind(now)
            .bind(wanted as i64)
            .bind(worker)
            .bind(until)
            .bind(offered.iter().map(|o| o.id).collect::<Vec<Uuid>>())
            .bind(
                offered
                    .iter()
                    .map(|o| o.charge_version)
                    .collect::<Vec<i64>>(),
            )
            .bind(
                offered
                    .iter()
                    .map(|o| o.series_payment_id.as_deref())
                    .collect::<Vec<Option<&str>>>(),
            )
            .bind(
                offered
                    .iter()
                    .map(|o| o.request.as_ref().map(|r| r.0.as_str()))
                    .collect::<Vec<Option<&str>>>(),
            )
            .bind(
                offered
                    .iter()
                    .map(|o| o.request.as_ref().map(|r| r.1.as_str()))
                    .collect::<Vec<Option<&str>>>(),
            )
            .bind(offered.iter().map(|o| o.stored).collect::<Vec<bool>>())
            .fetch_all(&self.pool)
            .await?;
        let mut requests: HashMap<Uuid, &(String, String)> = offered
            .iter()
            .filter_map(|o| o.request.as_ref().map(|r| (o.id, r)))
            .collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let written = match (row.attempt_id, requests.remove(&row.charge.id)) {
                    (Some(attempt_id), Some((sequence, body))) => Some(Written {
                        sequence: sequence.clone(),
                        body: body.clone(),
                        attempt_id,
                    }),
                    _ => None,
                };
                ClaimedWrite {
                    charge: row.charge,
                    written,
                }
            })
            .collect())
    }
}

/// A charge of the window offered to the claim, with its request.
struct Offered {
    id: Uuid,
    charge_version: i64,
    series_payment_id: Option<String>,
    request: Request,
    stored: bool,
}

/// The window's charges the claim may take, each with what `plan` says to write down. Left
/// out: a charge the claim would refuse anyway (account or subscription not active, nothing
/// stored). A subscription's charges are all offered: of those, the claim takes its earliest
/// open cycle alone (`claim_rules!`: a later cycle waits while an earlier one is open, and the
/// statement sees every offered charge open), so a subscription with no first payment on
/// record still has one charge in flight at most — and a cycle retried later than its
/// successors fell due is not passed over for them.
fn offer(
    rows: Vec<WindowCharge>,
    plan: &mut impl FnMut(&mut ClaimedCharge) -> Request,
) -> Vec<Offered> {
    let mut offered = Vec::with_capacity(rows.len());
    for mut r in rows {
        let stored = r.charge.request_body.is_some();
        if !(r.live || stored) {
            continue;
        }
        let request = plan(&mut r.charge);
        offered.push(Offered {
            id: r.charge.id,
            charge_version: r.charge_version,
            series_payment_id: r.charge.series_payment_id,
            stored,
            request,
        });
    }
    offered
}
