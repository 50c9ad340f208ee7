//! Recording many answers in one transaction. Answers arrive one by one as sends complete; the
//! daemon's recorder writes whatever has arrived together (group commit), so a busy run pays a
//! commit per batch, not per charge. The common case — a subsequent payment approved — is
//! recorded for the whole batch by one statement, together with every attempt row and every
//! `charge.approved` event; any other answer first goes through the same per-charge rules as
//! `record_outcome`, in the same transaction.

use jiff::Timestamp;
use uuid::Uuid;

use super::claims::{ClaimedCharge, lease_fence};
use super::events;
use super::outbox::{EventKind, event_text};
use super::outcomes::{Recorded, RetryPolicy, facts, record_claimed};
use super::{Store, StoreError, to_db};
use crate::domain::transition::is_plain_approval;
use crate::gateway::GatewayAnswer;

/// The final answer to one claimed charge, and the attempt row of the send that got it.
pub struct Answered<'a> {
    pub charge: &'a ClaimedCharge,
    pub attempt_id: i64,
    pub answer: &'a GatewayAnswer,
}

/// Stores every answer of a batch on its attempt row and records its plain approvals, in one
/// statement: the attempt rows finished, the charges approved (fenced per row as
/// `record_claimed` fences one), a `charge.approved` event for each charge this claim did
/// approve (none for one whose claim was lost) and the event's deliveries. A batch of plain
/// approvals only — the common case — is this statement alone, in its own transaction: no
/// BEGIN, no COMMIT, no transaction open while the daemon works.
///
/// Rows are addressed by id twice, in the join and as `= ANY` of the ids: while the tables grow
/// faster than their statistics, the planner may otherwise take a whole-table scan for the
/// cheaper way to a batch of rows.
///
/// $1 worker, $2 now; the attempts $3..$14; the plain approvals $15..$20 (charge, attempt
/// number, lease token, payment id, event id, event payload); $21 the events' kind; $22 the
/// webhook endpoints.
pub const RECORD_BATCH_SQL: &str = concat!(
    "WITH finished AS (UPDATE charge_attempts t SET finished_at = $2, \
       http_status = f.http_status, outcome = f.outcome, gateway_payment_id = f.payment_id, \
       gateway_status = f.status, response_code = f.response_code, \
       processor_response_code = f.processor_code, response_message = f.message, \
       approval_code = f.approval_code, authorized_amount = f.authorized, \
       scheme_reference = f.scheme_reference, error = f.error \
     FROM unnest($3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], \
       $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::text[]) \
       AS f(id, http_status, outcome, payment_id, status, response_code, processor_code, \
            message, approval_code, authorized, scheme_reference, error) \
     WHERE t.id = f.id AND t.id = ANY($3)), \
     u AS (SELECT * FROM unnest($15::uuid[], $16::int[], $17::bigint[], $18::text[], \
       $19::uuid[], $20::text[]) AS u(id, attempt_no, token, payment_id, event_id, payload)), \
     approved AS (UPDATE charges c SET status = 'approved', last_outcome = 'approved', \
       settled_at = $2, gateway_payment_id = u.payment_id, lease_owner = NULL, \
       lease_expires_at = NULL \
     FROM u WHERE ",
    lease_fence!(row: "c.", id: "u.id", owner: "$1", attempt: "u.attempt_no", token: "u.token"),
    " AND c.id = ANY($15) RETURNING c.id), \
     announced AS (INSERT INTO webhook_events (id, kind, payload, created_at) \
       SELECT u.event_id, $21, u.payload::json, $2 FROM u JOIN approved a ON a.id = u.id \
       RETURNING id), \
     deliveries AS (INSERT INTO webhook_deliveries (event_id, endpoint, next_attempt_at, \
       created_at) \
       SELECT e.id, ep, $2, $2 FROM announced e CROSS JOIN unnest($22::text[]) AS ep \
       ON CONFLICT DO NOTHING) \
     SELECT id FROM approved"
);

/// A deadlock with a merchant's change (a suspension holding an account's charges while the
/// batch records one of them) aborts the batch's transaction; it is run again this many times.
const DEADLOCK_RETRIES: usize = 3;

impl Store {
    /// Stores the raw answer on the attempt row.
    pub async fn finish_send(
        &self,
        attempt_id: i64,
        answer: &GatewayAnswer,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        super::attempts::finish_attempt(self.pool(), attempt_id, answer, now).await?;
        Ok(())
    }

    /// Records a batch of answers in one transaction; the results are in the batch's order.
    pub async fn record_outcomes(
        &self,
        worker: Uuid,
        batch: &[Answered<'_>],
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut tries = 0;
        loop {
            match self.try_record_outcomes(worker, batch, policy, now).await {
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("40P01") && tries < DEADLOCK_RETRIES =>
                {
                    tries += 1;
                    tracing::warn!(
                        tries,
                        batch = batch.len(),
                        "deadlock recording a batch; recording it again"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(10 * tries as u64)).await;
                }
                other => return Ok(other?),
            }
        }
    }

    async fn try_record_outcomes(
        &self,
        worker: Uuid,
        batch: &[Answered<'_>],
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<Vec<Recorded>, sqlx::Error> {
        let hooks = self.webhook_endpoints();
        let mut results = vec![Recorded::LeaseLost; batch.len()];
        let (plain, other): (Vec<usize>, Vec<usize>) = (0..batch.len())
            .partition(|&i| is_plain_approval(facts(batch[i].charge), batch[i].answer.outcome));
        let approved = if other.is_empty() {
            record_batch(self.pool(), hooks, worker, batch, &plain, now).await?
        } else {
            // First the answers with side effects beyond the charge (a series opened, a last
            // installment, declines, suspensions), then the plain approvals: a suspension
            // decides what becomes of the account's other charges before any of them is
            // approved.
            let mut tx = self.pool().begin().await?;
            for &i in &other {
                let a = &batch[i];
                results[i] =
                    record_claimed(&mut tx, hooks, worker, a.charge, a.answer, policy, now).await?;
            }
            let approved = record_batch(&mut *tx, hooks, worker, batch, &plain, now).await?;
            tx.commit().await?;
            approved
        };
        for &i in &plain {
            if approved.contains(&batch[i].charge.id) {
                results[i] = Recorded::Approved;
            }
        }
        Ok(results)
    }
}

/// `RECORD_BATCH_SQL` for `batch`, whose plain approvals are `plain`; returns the charges it
/// approved.
async fn record_batch<'e, E>(
    db: E,
    hooks: &[String],
    worker: Uuid,
    batch: &[Answered<'_>],
    plain: &[usize],
    now: Timestamp,
) -> Result<std::collections::HashSet<Uuid>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let col = |f: fn(&GatewayAnswer) -> Option<&str>| -> Vec<Option<&str>> {
        batch.iter().map(|a| f(a.answer)).collect()
    };
    let approvals: Vec<&Answered<'_>> = plain.iter().map(|&i| &batch[i]).collect();
    let event_ids: Vec<Uuid> = approvals
        .iter()
        .map(|_| crate::ids::time_ordered(now))
        .collect();
    let kind = EventKind::ChargeApproved;
    let payloads: Vec<String> = approvals
        .iter()
        .zip(&event_ids)
        .map(|(a, &id)| event_text(id, kind, events::charge_data(a.charge, a.answer, None), now))
        .collect();
    let done: Vec<Uuid> = sqlx::query_scalar(RECORD_BATCH_SQL)
        .bind(worker)
        .bind(to_db(now))
        .bind(batch.iter().map(|a| a.attempt_id).collect::<Vec<i64>>())
        .bind(
            batch
                .iter()
                .map(|a| a.answer.http_status.map(i32::from))
                .collect::<Vec<Option<i32>>>(),
        )
        .bind(
            batch
                .iter()
                .map(|a| a.answer.outcome.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(col(|a| a.payment_id.as_deref()))
        .bind(col(|a| a.status.as_deref()))
        .bind(col(|a| a.response_code.as_deref()))
        .bind(col(|a| a.processor_response_code.as_deref()))
        .bind(col(|a| a.response_message.as_deref()))
        .bind(col(|a| a.approval_code.as_deref()))
        .bind(
            batch
                .iter()
                .map(|a| a.answer.authorized_amount)
                .collect::<Vec<Option<i64>>>(),
        )
        .bind(col(|a| a.scheme_reference.as_deref()))
        .bind(col(|a| a.error.as_deref()))
        .bind(approvals.iter().map(|a| a.charge.id).collect::<Vec<Uuid>>())
        .bind(
            approvals
                .iter()
                .map(|a| a.charge.attempt_no)
                .collect::<Vec<i32>>(),
        )
        .bind(
            approvals
                .iter()
                .map(|a| a.charge.lease_token)
                .collect::<Vec<i64>>(),
        )
        .bind(
            approvals
                .iter()
                .map(|a| a.answer.payment_id.as_deref())
                .collect::<Vec<Option<&str>>>(),
        )
        .bind(&event_ids)
        .bind(&payloads)
        .bind(kind.as_str())
        .bind(hooks)
        .fetch_all(db)
        .await?;
    Ok(done.into_iter().collect())
}
