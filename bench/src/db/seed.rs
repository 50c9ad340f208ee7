//! Seeding: due subscriptions over the bench's accounts, and a billed history behind them.

use std::time::Instant;

use sqlx::AssertSqlSafe;

use super::Scratch;

/// A request body shaped like the one billingd writes on each charge (for seeded history).
const HISTORY_BODY: &str = "json_build_object('channel', 'web', 'processingTerminalId', '3204001', \
    'order', json_build_object('orderId', left(replace(x.cid::text, '-', ''), 16) || '-1', \
      'amount', s.amount_minor, 'currency', s.currency, 'standingInstructions', \
      json_build_object('sequence', 'subsequent', 'processingModel', 'recurring', \
        'referenceDataOfFirstTxn', json_build_object('paymentId', 'K3T9QX8JW2', \
          'cardSchemeReferenceId', 'MCC1234567890'))), \
    'paymentMethod', json_build_object('type', 'secureToken', 'token', '296753000000000000'))::text";

impl Scratch {
    /// `count` active subscriptions spread round-robin over the accounts. Subscription i
    /// (0-based) has its next cycle due at `first_due + i * step_s` (UNIX seconds), every 30
    /// days in UTC (exact arithmetic, so the seeded due time is the one billingd computes),
    /// with `history` cycles before it (charged: see `seed_history`). Amount 1500: no trigger.
    pub async fn seed_subscriptions(
        &self,
        count: u64,
        first_due: f64,
        step_s: f64,
        history: u32,
    ) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("SET synchronous_commit = off")
            .execute(&mut *conn)
            .await?;
        const CHUNK: u64 = 250_000;
        let mut from = 0;
        while from < count {
            let to = (from + CHUNK).min(count);
            sqlx::query(
                "WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM payment_accounts), \
                 d AS (SELECT i, to_timestamp($3 + i * $4) AS due FROM generate_series($1::bigint, $2::bigint - 1) i) \
                 INSERT INTO subscriptions (id, account_id, amount_minor, currency, anchor_local, \
                   time_zone, interval_unit, interval_count, status, next_cycle, next_due_at, \
                   series_payment_id, series_scheme_reference, series_processing_model, \
                   created_at, updated_at) \
                 SELECT gen_random_uuid(), x.account_id, 1500, 'USD', \
                   (d.due AT TIME ZONE 'UTC') - make_interval(days => 30 * $5), 'UTC', 'day', 30, \
                   'active', $5 + 1, d.due, f.payment_id, f.scheme_reference, 'recurring', now(), now() \
                 FROM d, a, LATERAL (SELECT a.ids[1 + d.i % cardinality(a.ids)] AS account_id) x \
                 JOIN bench_first_payments f ON f.account_id = x.account_id",
            )
            .bind(from as i64)
            .bind(to as i64)
            .bind(first_due)
            .bind(step_s)
            .bind(history as i32)
            .execute(&mut *conn)
            .await?;
            from = to;
        }
        Ok(())
    }

    /// `history` approved charges per subscription (cycles before its next one), each with its
    /// request body and one approved attempt: the charge and attempt tables of a daemon that
    /// has been billing for `history` periods. 16 slices, by the first hex digit of the id.
    pub async fn seed_history(&self, history: u32, progress: bool) -> anyhow::Result<()> {
        if history == 0 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("SET synchronous_commit = off")
            .execute(&mut *conn)
            .await?;
        let started = Instant::now();
        for (n, digit) in "0123456789abcdef".chars().enumerate() {
            sqlx::query(AssertSqlSafe(format!(
                "WITH ins AS ( \
                   INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
                     currency, processing_model, is_last, status, attempt_no, idempotency_key, \
                     order_id, sequence, request_body, next_attempt_at, last_outcome, \
                     gateway_payment_id, created_at, settled_at) \
                   SELECT x.cid, s.id, s.account_id, c, x.due, s.amount_minor, s.currency, \
                     'recurring', false, 'approved', 1, gen_random_uuid(), \
                     left(replace(x.cid::text, '-', ''), 16) || '-1', \
                     CASE WHEN c = 1 THEN 'first' ELSE 'subsequent' END, {HISTORY_BODY}, x.due, \
                     'approved', upper(left(md5(x.cid::text), 10)), x.due, x.due + interval '1 second' \
                   FROM subscriptions s \
                   CROSS JOIN generate_series(1, s.next_cycle - 1) c \
                   CROSS JOIN LATERAL (SELECT gen_random_uuid() AS cid, \
                     (s.anchor_local + make_interval(days => 30 * (c - 1))) AT TIME ZONE 'UTC' AS due) x \
                   WHERE left(s.id::text, 1) = '{digit}' \
                   RETURNING id, idempotency_key, order_id, sequence, due_at, gateway_payment_id, \
                     amount_minor) \
                 INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, \
                   order_id, sequence, sent_at, finished_at, http_status, outcome, gateway_payment_id, \
                   gateway_status, response_code, processor_response_code, response_message, \
                   approval_code, authorized_amount, scheme_reference) \
                 SELECT id, 1, 1, idempotency_key, order_id, sequence, due_at, \
                   due_at + interval '180 ms', 201, 'approved', gateway_payment_id, 'ready', 'A', \
                   '00', 'APPROVAL', 'A1B2C3', amount_minor, 'MCC1234567890' FROM ins"
            )))
            .execute(&mut *conn)
            .await?;
            if progress {
                eprintln!(
                    "bench:   history slice {}/16 done ({:.0} s)",
                    n + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(())
    }
}
