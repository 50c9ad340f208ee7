//! Recording many answers in one transaction. Answers arrive one by one as sends complete; the
//! daemon's recorder writes whatever has arrived together (group commit), so a busy run pays a
//! commit per batch, not per charge. The common case — a subsequent payment approved — is one
//! set-based statement for the whole batch; every other answer goes through the same
//! per-charge rules as `record_outcome`, in the same transaction.

use std::collections::HashSet;

use jiff::Timestamp;
use uuid::Uuid;

use super::attempts::finish_attempt;
use super::claims::{ClaimedCharge, lease_fence};
use super::events;
use super::outbox::{EventKind, enqueue_many};
use super::outcomes::{Recorded, RetryPolicy, Tx, facts, record_claimed};
use super::{Store, StoreError, to_db};
use crate::domain::transition::is_plain_approval;
use crate::gateway::GatewayAnswer;

/// The final answer to one claimed charge, and the attempt row of the send that got it.
pub struct Answered<'a> {
    pub charge: &'a ClaimedCharge,
    pub attempt_id: i64,
    pub answer: &'a GatewayAnswer,
}

/// Approves a batch of charges, fenced per row as `record_claimed` fences one.
pub const APPROVE_MANY_SQL: &str = concat!(
    "UPDATE charges c SET status = 'approved', last_outcome = 'approved', settled_at = $2, \
       gateway_payment_id = u.payment_id, lease_owner = NULL, lease_expires_at = NULL \
     FROM unnest($3::uuid[], $4::int[], $5::bigint[], $6::text[]) \
       AS u(id, attempt_no, token, payment_id) \
     WHERE ",
    lease_fence!(row: "c.", id: "u.id", owner: "$1", attempt: "u.attempt_no", token: "u.token"),
    " RETURNING c.id"
);

/// Stores every answer on its attempt row, in one statement.
const FINISH_MANY_SQL: &str = "UPDATE charge_attempts t SET finished_at = $1, \
       http_status = u.http_status, outcome = u.outcome, gateway_payment_id = u.payment_id, \
       gateway_status = u.status, response_code = u.response_code, \
       processor_response_code = u.processor_code, response_message = u.message, \
       approval_code = u.approval_code, authorized_amount = u.authorized, \
       scheme_reference = u.scheme_reference, error = u.error \
     FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], \
       $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[]) \
       AS u(id, http_status, outcome, payment_id, status, response_code, processor_code, \
            message, approval_code, authorized, scheme_reference, error) \
     WHERE t.id = u.id";

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
        finish_attempt(self.pool(), attempt_id, answer, now).await?;
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
        let mut tx = self.pool().begin().await?;
        finish_many(&mut tx, batch, now).await?;
        let mut results = vec![Recorded::LeaseLost; batch.len()];
        let mut plain = Vec::new();
        // First the answers with side effects beyond the charge (a series opened, a last
        // installment, declines, suspensions), then the plain approvals: a suspension decides
        // what becomes of the account's other charges before any of them is approved.
        for (i, a) in batch.iter().enumerate() {
            if is_plain_approval(facts(a.charge), a.answer.outcome) {
                plain.push(i);
            } else {
                results[i] =
                    record_claimed(&mut tx, hooks, worker, a.charge, a.answer, policy, now).await?;
            }
        }
        let approved = approve_many(&mut tx, worker, batch, &plain, now).await?;
        let mut announced = Vec::with_capacity(approved.len());
        for &i in &plain {
            let a = &batch[i];
            if approved.contains(&a.charge.id) {
                results[i] = Recorded::Approved;
                announced.push((
                    EventKind::ChargeApproved,
                    events::charge(a.charge, a.answer, None),
                ));
            }
        }
        enqueue_many(&mut tx, hooks, announced, now).await?;
        tx.commit().await?;
        Ok(results)
    }
}

async fn approve_many(
    tx: &mut Tx<'_>,
    worker: Uuid,
    batch: &[Answered<'_>],
    plain: &[usize],
    now: Timestamp,
) -> Result<HashSet<Uuid>, sqlx::Error> {
    if plain.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = plain.iter().map(|&i| batch[i].charge.id).collect();
    let attempts: Vec<i32> = plain.iter().map(|&i| batch[i].charge.attempt_no).collect();
    let tokens: Vec<i64> = plain.iter().map(|&i| batch[i].charge.lease_token).collect();
    let payment_ids: Vec<Option<&str>> = plain
        .iter()
        .map(|&i| batch[i].answer.payment_id.as_deref())
        .collect();
    let done: Vec<Uuid> = sqlx::query_scalar(APPROVE_MANY_SQL)
        .bind(worker)
        .bind(to_db(now))
        .bind(&ids)
        .bind(&attempts)
        .bind(&tokens)
        .bind(&payment_ids)
        .fetch_all(&mut **tx)
        .await?;
    Ok(done.into_iter().collect())
}

async fn finish_many(
    tx: &mut Tx<'_>,
    batch: &[Answered<'_>],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let col = |f: fn(&GatewayAnswer) -> Option<&str>| -> Vec<Option<&str>> {
        batch.iter().map(|a| f(a.answer)).collect()
    };
    let ids: Vec<i64> = batch.iter().map(|a| a.attempt_id).collect();
    let http: Vec<Option<i32>> = batch
        .iter()
        .map(|a| a.answer.http_status.map(i32::from))
        .collect();
    let outcomes: Vec<&str> = batch.iter().map(|a| a.answer.outcome.as_str()).collect();
    let authorized: Vec<Option<i64>> = batch.iter().map(|a| a.answer.authorized_amount).collect();
    sqlx::query(FINISH_MANY_SQL)
        .bind(to_db(now))
        .bind(&ids)
        .bind(&http)
        .bind(&outcomes)
        .bind(col(|a| a.payment_id.as_deref()))
        .bind(col(|a| a.status.as_deref()))
        .bind(col(|a| a.response_code.as_deref()))
        .bind(col(|a| a.processor_response_code.as_deref()))
        .bind(col(|a| a.response_message.as_deref()))
        .bind(col(|a| a.approval_code.as_deref()))
        .bind(&authorized)
        .bind(col(|a| a.scheme_reference.as_deref()))
        .bind(col(|a| a.error.as_deref()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
