// The peer of billingd's benchmark (issue 14): recurring charges as a merchant's engineers would
// build them without billingd, on a Postgres job queue (graphile-worker): a job per charge, the
// gateway call inside it.
//
//   node peer.mjs migrate   install graphile-worker's schema (before the measurement)
//   node peer.mjs run       charge every due subscription, then exit; prints a JSON summary
//
// `run` does what billingd's `run-once` does in the throughput phase, on the same tables:
//  1. enqueue, a transaction per PEER_ENQUEUE_BATCH due subscriptions: claim them (SKIP LOCKED,
//     so several processes split the work), advance each to its next cycle, insert its charge
//     with a fresh Idempotency-Key, orderId and the exact request body (billingd's `charges`
//     table, as bench/baseline.sql writes it), and add one job per charge (add_jobs) — in the
//     same transaction, graphile-worker's transactional enqueue;
//  2. each job: read its charge (a job run again after its answer was recorded sends nothing),
//     POST the Payroc sale with the charge's Idempotency-Key, and record the answer in one
//     transaction (the charge settled, the attempt row with the answer's fields). A 401, 5xx,
//     409 or dropped connection throws: graphile-worker retries the job with backoff, and the
//     retry sends the same bytes under the same key.
// Workers start before the enqueue, so charges are sent while later ones are still enqueued.
// The run ends when no due subscription and no open charge are left.
//
// Tuned as a merchant's careful engineer would, each measured (issue 14; README, Performance):
// graphile-worker's batching as its performance guide advises (localQueue of concurrency + 1,
// completions batched), one process (Node is single-threaded and Postgres needs the other
// core; two processes measured slower), concurrency 64 (32, 64 and 128 measured; the bench
// tries those), the job's two statements prepared once per connection, and undici's request
// rather than fetch (half the CPU per sale on Node 20). graphile-worker's info log (a line per
// job) is off.
//
// Environment: PEER_DATABASE_URL, PEER_PAYROC_API_URL, PEER_PAYROC_IDENTITY_URL,
// PEER_PAYROC_API_KEY (secret: never logged), PEER_CONCURRENCY (jobs at once, 64),
// PEER_LOCAL_QUEUE (jobs fetched per query; default concurrency + 1, -1 off),
// PEER_COMPLETE_DELAY (ms completions are batched over; default 0, -1 off), PEER_POOL
// (connections; default max(10, concurrency + 2), at most 64),
// PEER_ENQUEUE_BATCH (500), PEER_LOG (graphile-worker's log level shown: warning).
import { Logger, run, runMigrations } from "graphile-worker";
import pg from "pg";
import { request } from "undici";

const env = (name, fallback) => process.env[name] ?? fallback;
const int = (name, fallback) => Number.parseInt(env(name, String(fallback)), 10);

const DATABASE_URL = env("PEER_DATABASE_URL");
const API_URL = env("PEER_PAYROC_API_URL");
const IDENTITY_URL = env("PEER_PAYROC_IDENTITY_URL");
const API_KEY = env("PEER_PAYROC_API_KEY");
const CONCURRENCY = int("PEER_CONCURRENCY", 64);
const LOCAL_QUEUE = int("PEER_LOCAL_QUEUE", CONCURRENCY + 1);
const COMPLETE_DELAY = int("PEER_COMPLETE_DELAY", 0);
// As the docs advise: 10 or concurrentJobs + 2, whichever is larger — but at most 64: the
// server allows 100 connections (Postgres' default) to everyone, and a job holds a client only
// for its two short statements, not while the gateway answers.
const POOL = int("PEER_POOL", Math.min(64, Math.max(10, CONCURRENCY + 2)));
const ENQUEUE_BATCH = int("PEER_ENQUEUE_BATCH", 500);
const LEVELS = ["error", "warning", "info", "debug"];
const SHOWN = LEVELS.indexOf(env("PEER_LOG", "warning"));

// The same subsequent recurring sale billingd sends, built from the subscription's series.
const ENQUEUE_SQL = `
WITH due AS (
    SELECT s.id, s.account_id, s.next_cycle, s.next_due_at, s.amount_minor, s.currency,
           s.total_cycles, a.payroc_terminal_id, a.payroc_token, s.series_payment_id,
           s.series_scheme_reference, gen_random_uuid() AS charge_id
    FROM subscriptions s
    JOIN payment_accounts a ON a.id = s.account_id AND a.state = 'active'
    WHERE s.status = 'active' AND s.next_due_at <= now()
    ORDER BY s.next_due_at
    LIMIT $1
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
                         processing_model, is_last, status, attempt_no, idempotency_key,
                         order_id, sequence, request_body, next_attempt_at, created_at)
    SELECT d.charge_id, d.id, d.account_id, d.next_cycle, d.next_due_at, d.amount_minor,
           d.currency,
           CASE WHEN d.total_cycles IS NULL THEN 'recurring' ELSE 'installment' END,
           d.next_cycle = coalesce(d.total_cycles, 0), 'due', 1, gen_random_uuid(),
           left(replace(d.charge_id::text, '-', ''), 16) || '-1', 'subsequent',
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
           d.next_due_at, now()
    FROM due d
    ON CONFLICT (subscription_id, cycle) DO NOTHING
    RETURNING id
), jobs AS (
    SELECT graphile_worker.add_jobs(array_agg(
        ROW('charge', json_build_object('id', id), NULL, NULL, NULL, NULL, NULL, NULL)
            ::graphile_worker.job_spec)) AS job
    FROM charged
    HAVING count(*) > 0
)
SELECT (SELECT count(*) FROM due)::int AS claimed, (SELECT count(*) FROM jobs)::int AS jobs`;

const LOAD_SQL = `SELECT request_body, idempotency_key FROM charges WHERE id = $1 AND status = 'due'`;

// One statement, so one transaction: the charge settled and its attempt logged with the answer.
const RECORD_SQL = `
WITH done AS (
    UPDATE charges
    SET status = $2, last_outcome = $3, settled_at = now(), gateway_payment_id = $4
    WHERE id = $1 AND status = 'due'
    RETURNING id, attempt_no, idempotency_key, order_id, sequence
)
INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, order_id, sequence,
    sent_at, finished_at, http_status, outcome, gateway_payment_id, gateway_status,
    response_code, processor_response_code, response_message, approval_code,
    authorized_amount, scheme_reference)
SELECT id, attempt_no, $5, idempotency_key, order_id, sequence, $6, now(), $7, $3, $4, $8, $9,
       $10, $11, $12, $13, $14
FROM done`;

// Done: no open charge, then no due subscription (another process may still be enqueueing).
// The second is asked only once the first holds: it scans the subscriptions just advanced.
const OPEN_SQL = `SELECT EXISTS (SELECT 1 FROM charges WHERE status = 'due') AS open`;
const DUE_SQL = `SELECT EXISTS (SELECT 1 FROM subscriptions
  WHERE status = 'active' AND next_due_at <= now()) AS due`;

let bearer = null;

async function authorize() {
  const res = await fetch(`${IDENTITY_URL}/authorize`, {
    method: "POST",
    headers: { "x-api-key": API_KEY },
  });
  if (!res.ok) throw new Error(`authorize: HTTP ${res.status}`);
  return (await res.json()).access_token;
}

async function token() {
  bearer ??= authorize().catch((e) => {
    bearer = null;
    throw e;
  });
  return bearer;
}

const counts = { approved: 0, declined: 0, recorded_before: 0 };

// Named, so each connection prepares the statement once (parsed and planned once).
const query = (helpers, name, text, values) =>
  helpers.withPgClient((client) => client.query({ name, text, values }));

async function charge(payload, helpers) {
  const { rows } = await query(helpers, "peer_load", LOAD_SQL, [payload.id]);
  if (rows.length === 0) {
    counts.recorded_before += 1;
    return;
  }
  const sentAt = new Date();
  const res = await request(`${API_URL}/payments`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await token()}`,
      "content-type": "application/json",
      "idempotency-key": rows[0].idempotency_key,
    },
    body: rows[0].request_body,
  });
  if (res.statusCode === 401) bearer = null;
  if (res.statusCode !== 200 && res.statusCode !== 201) {
    await res.body.dump();
    // Not an answer (auth, conflict, 5xx): the job fails and is retried with the same key.
    throw new Error(`sale: HTTP ${res.statusCode}`);
  }
  const sale = await res.body.json();
  const r = sale.transactionResult ?? sale.paymentResult ?? {};
  const approved = r.responseCode === "A";
  counts[approved ? "approved" : "declined"] += 1;
  await query(helpers, "peer_record", RECORD_SQL, [
    payload.id,
    approved ? "approved" : "failed",
    approved ? "approved" : "declined_hard",
    sale.paymentId ?? null,
    helpers.job.attempts,
    sentAt,
    res.statusCode,
    r.status ?? null,
    r.responseCode ?? null,
    r.processorResponseCode ?? null,
    r.responseMessage ?? null,
    r.approvalCode ?? null,
    r.authorizedAmount ?? null,
    r.cardSchemeReferenceId ?? null,
  ]);
}

const logger = new Logger(() => (level, message) => {
  if (LEVELS.indexOf(level) <= SHOWN) console.error(`[${level}] ${message}`);
});

async function enqueueAll(pool) {
  let jobs = 0;
  for (;;) {
    const { rows } = await pool.query(ENQUEUE_SQL, [ENQUEUE_BATCH]);
    jobs += rows[0].jobs;
    if (rows[0].claimed < ENQUEUE_BATCH) return jobs;
  }
}

async function untilDone(pool) {
  for (;;) {
    const open = (await pool.query(OPEN_SQL)).rows[0].open;
    if (!open && !(await pool.query(DUE_SQL)).rows[0].due) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main() {
  const started = performance.now();
  const preset = {
    worker: {
      connectionString: DATABASE_URL,
      concurrentJobs: CONCURRENCY,
      maxPoolSize: POOL,
      localQueue: { size: LOCAL_QUEUE },
      completeJobBatchDelay: COMPLETE_DELAY,
      failJobBatchDelay: COMPLETE_DELAY,
      logger,
    },
  };
  if (process.argv[2] === "migrate") {
    await runMigrations({ preset });
    return;
  }
  if (process.argv[2] !== "run") throw new Error("usage: node peer.mjs migrate|run");
  const runner = await run({ preset, taskList: { charge }, noHandleSignals: true });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  const enqueued = await enqueueAll(pool);
  await untilDone(pool);
  await runner.stop();
  await pool.end();
  const summary = { enqueued, ...counts, duration_ms: Math.round(performance.now() - started) };
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
