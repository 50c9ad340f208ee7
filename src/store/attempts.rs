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
