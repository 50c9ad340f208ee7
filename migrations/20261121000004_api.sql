-- What the admin API adds: subscription metadata and lifecycle flags, and the record of
-- idempotent API writes.
ALTER TABLE subscriptions
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Cancel when the current period ends: the next cycle is not billed, the subscription ends.
    ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false,
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN paused_at timestamptz;
CREATE INDEX subscriptions_by_reference ON subscriptions (merchant_reference) WHERE merchant_reference IS NOT NULL;
CREATE INDEX subscriptions_listing ON subscriptions (created_at, id);
CREATE INDEX charges_listing ON charges (due_at, id);

-- One row per Idempotency-Key an API client sent: the fingerprint of the request it came with
-- and, once answered, the answer to replay. A row without an answer is a request in progress.
CREATE TABLE api_idempotency_keys (
    key           text PRIMARY KEY,
    fingerprint   bytea NOT NULL,
    status        integer,
    response_body bytea,
    created_at    timestamptz NOT NULL
);
