-- bench/baseline.sql — the floor billingd is measured against (issue 6, figure 1).
--
-- A pgbench custom script doing, per charge, the minimum database work a correct
-- recurring biller needs, batched as a careful design would batch it, on billingd's own
-- tables (a scratch database after `billingd migrate`, seeded by `bench`):
--
--   1. one transaction, before anything is sent: claim up to :batch due subscriptions
--      (FOR UPDATE SKIP LOCKED, so clients split the work), advance each to its next
--      cycle, insert its charge with a fresh Idempotency-Key, orderId and the exact
--      request body, already leased to this client, and log the send in charge_attempts;
--   2. (the gateway would be called here; the baseline sends nothing)
--   3. one transaction: record every result — the charge approved with its gateway
--      payment id, the attempt row finished with the answer's fields.
--
-- Two commits per :batch charges. Not included (billingd does them, the issue's list does
-- not): the webhook outbox row per charge, the series-position logic, per-charge spans.
--
-- Variables (pgbench -D): batch — charges per transaction (the bench passes
-- BENCH_BASELINE_BATCH, default 100). :client_id makes each client's lease owner.
-- Run:  pgbench -n -f bench/baseline.sql -D batch=100 -c 2 -j 2 -t <N/(batch*c)> <db url>

BEGIN;
WITH due AS (
    SELECT s.id, s.account_id, s.next_cycle, s.next_due_at, s.amount_minor, s.currency,
           s.interval_unit, s.interval_count, s.total_cycles,
           a.payroc_terminal_id, a.payroc_token, s.series_payment_id, s.series_scheme_reference,
           gen_random_uuid() AS charge_id, gen_random_uuid() AS idempotency_key
    FROM subscriptions s
    JOIN payment_accounts a ON a.id = s.account_id AND a.state = 'active'
    WHERE s.status = 'active' AND s.next_due_at <= now()
    ORDER BY s.next_due_at
    LIMIT :batch
    FOR UPDATE OF s SKIP LOCKED
), advanced AS (
    UPDATE subscriptions s
    SET next_cycle = s.next_cycle + 1,
        next_due_at = s.next_due_at + make_interval(
            days => CASE s.interval_unit WHEN 'day' THEN s.interval_count
                                         WHEN 'week' THEN 7 * s.interval_count ELSE 0 END,
            months => CASE s.interval_unit WHEN 'month' THEN s.interval_count
                                           WHEN 'year' THEN 12 * s.interval_count ELSE 0 END),
        updated_at = now()
    FROM due
    WHERE s.id = due.id
), charged AS (
    INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, currency,
                         processing_model, is_last, status, attempt_no, idempotency_key, order_id,
                         sequence, request_body, next_attempt_at, lease_owner, lease_expires_at,
                         created_at)
    SELECT d.charge_id, d.id, d.account_id, d.next_cycle, d.next_due_at, d.amount_minor,
           d.currency,
           CASE WHEN d.total_cycles IS NULL THEN 'recurring' ELSE 'installment' END,
           d.next_cycle = coalesce(d.total_cycles, 0), 'due', 1, d.idempotency_key,
           left(replace(d.charge_id::text, '-', ''), 16) || '-1',
           'subsequent',
           json_build_object(
               'channel', 'web',
               'processingTerminalId', d.payroc_terminal_id,
               'order', json_build_object(
                   'orderId', left(replace(d.charge_id::text, '-', ''), 16) || '-1',
                   'amount', d.amount_minor, 'currency', d.currency,
                   'standingInstructions', json_build_object(
                       'sequence', 'subsequent', 'processingModel', 'recurring',
                       'referenceDataOfFirstTxn', json_build_object(
                           'paymentId', d.series_payment_id,
                           'cardSchemeReferenceId', d.series_scheme_reference))),
               'paymentMethod', json_build_object('type', 'secureToken', 'token', d.payroc_token)
           )::text,
           d.next_due_at,
           ('00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid,
           now() + interval '5 minutes', now()
    FROM due d
    ON CONFLICT (subscription_id, cycle) DO NOTHING
    RETURNING id, idempotency_key, order_id
), logged AS (
    INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, order_id,
                                 sequence, sent_at)
    SELECT id, 1, 1, idempotency_key, order_id, 'subsequent', now() FROM charged
)
SELECT coalesce(quote_literal(array_agg(id)::text), '''{}''') AS ids FROM charged
\gset
COMMIT;

BEGIN;
WITH done AS (
    UPDATE charges c
    SET status = 'approved', last_outcome = 'approved', settled_at = now(),
        gateway_payment_id = upper(left(md5(c.id::text), 10)),
        lease_owner = NULL, lease_expires_at = NULL
    WHERE c.id = ANY (:ids::uuid[]) AND c.status = 'due'
      AND c.lease_owner = ('00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid
    RETURNING c.id, c.gateway_payment_id
)
UPDATE charge_attempts t
SET finished_at = now(), http_status = 201, outcome = 'approved',
    gateway_payment_id = done.gateway_payment_id, gateway_status = 'ready',
    response_code = 'A', processor_response_code = '00', response_message = 'APPROVAL',
    approval_code = '123456', authorized_amount = NULL, scheme_reference = 'SCHEMEREF'
FROM done
WHERE t.charge_id = done.id AND t.attempt_no = 1 AND t.send_no = 1;
COMMIT;
