-- One row per (subscription, cycle): the database, not the scheduler, guarantees that a cycle
-- is billed at most once. The row carries the *current* intent: the Idempotency-Key and orderId
-- of the attempt in progress and the exact body bytes, written before anything is sent, so a
-- resend after a timeout or a crash is byte-identical.
CREATE TABLE charges (
    id               uuid PRIMARY KEY,
    subscription_id  uuid NOT NULL REFERENCES subscriptions (id),
    account_id       uuid NOT NULL REFERENCES payment_accounts (id),
    cycle            integer NOT NULL CHECK (cycle > 0),
    due_at           timestamptz NOT NULL,
    amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
    currency         text NOT NULL,
    processing_model text NOT NULL CHECK (processing_model IN ('recurring', 'installment')),
    is_last          boolean NOT NULL DEFAULT false,
    status           text NOT NULL DEFAULT 'due'
                     CHECK (status IN ('due', 'approved', 'failed', 'held', 'skipped', 'cancelled')),
    attempt_no       integer NOT NULL DEFAULT 1,
    idempotency_key  uuid NOT NULL UNIQUE,
    order_id         text NOT NULL,
    sequence         text CHECK (sequence IN ('first', 'subsequent')),
    request_body     text,
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      uuid,
    lease_expires_at timestamptz,
    last_outcome     text,
    failure_reason   text,
    gateway_payment_id text,
    created_at       timestamptz NOT NULL,
    settled_at       timestamptz,
    CONSTRAINT one_charge_per_cycle UNIQUE (subscription_id, cycle)
);
-- The claim scan: open charges by when they may next be tried.
CREATE INDEX charges_open ON charges (next_attempt_at) WHERE status = 'due';
CREATE INDEX charges_by_account_open ON charges (account_id) WHERE status IN ('due', 'held');

-- Every request sent to a gateway, one row per send (resends of one key are separate rows),
-- with the raw result fields and our classification of them.
CREATE TABLE charge_attempts (
    id                      bigserial PRIMARY KEY,
    charge_id               uuid NOT NULL REFERENCES charges (id),
    attempt_no              integer NOT NULL,
    send_no                 integer NOT NULL,
    idempotency_key         uuid NOT NULL,
    order_id                text NOT NULL,
    sequence                text NOT NULL,
    sent_at                 timestamptz NOT NULL,
    finished_at             timestamptz,
    http_status             integer,
    outcome                 text CHECK (outcome IN ('approved', 'declined_soft', 'declined_hard',
                              'account_terminated', 'pending', 'unknown', 'request_error')),
    gateway_payment_id      text,
    gateway_status          text,
    response_code           text,
    processor_response_code text,
    response_message        text,
    approval_code           text,
    authorized_amount       bigint,
    scheme_reference        text,
    error                   text,
    UNIQUE (charge_id, attempt_no, send_no)
);
CREATE INDEX charge_attempts_by_key ON charge_attempts (idempotency_key);
