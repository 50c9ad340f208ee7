//! The attempt rows: one per request sent, finished with the gateway's answer.

use jiff::Timestamp;

use super::to_db;
use crate::gateway::GatewayAnswer;

/// Stores one answer on its attempt row.
pub(super) async fn finish_attempt(
    conn: impl sqlx::PgExecutor<'_>,
    attempt_id: i64,
    a: &GatewayAnswer,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE charge_attempts SET finished_at = $2, http_status = $3, outcome = $4, \
         gateway_payment_id = $5, gateway_status = $6, response_code = $7, \
         processor_response_code = $8, response_message = $9, approval_code = $10, \
         authorized_amount = $11, scheme_reference = $12, error = $13 WHERE id = $1",
    )
    .bind(attempt_id)
    .bind(to_db(now))
    .bind(a.http_status.map(i32::from))
    .bind(a.outcome.as_str())
    .bind(&a.payment_id)
    .bind(&a.status)
    .bind(&a.response_code)
    .bind(&a.processor_response_code)
    .bind(&a.response_message)
    .bind(&a.approval_code)
    .bind(a.authorized_amount)
    .bind(&a.scheme_reference)
    .bind(&a.error)
    .execute(conn)
    .await?;
    Ok(())
}

/// The card's reattempts, all its subscriptions together: new attempts (first sends of
/// attempt 2 and later) on the account's charges since $2, and the retries already scheduled
/// and not yet sent, so that two charges declined in one run do not both take the last one.
pub(super) const CARD_REATTEMPTS_SQL: &str = "SELECT \
       (SELECT count(*) FROM charge_attempts t JOIN charges c ON c.id = t.charge_id \
          WHERE c.account_id = $1 AND t.attempt_no > 1 AND t.send_no = 1 AND t.sent_at > $2) \
     + (SELECT count(*) FROM charges c WHERE c.account_id = $1 AND c.status = 'due' \
          AND c.attempt_no > 1 AND NOT EXISTS (SELECT 1 FROM charge_attempts t \
            WHERE t.charge_id = c.id AND t.attempt_no = c.attempt_no))";
