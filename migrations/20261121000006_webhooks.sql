-- Merchant webhooks, as a transactional outbox: an event is inserted in the same transaction
-- as the change it announces (so it exists if and only if the change committed), with one
-- delivery per configured endpoint; a worker POSTs the deliveries independently of billing.

-- The event exactly as it is sent (`payload` is the JSON body; its `id` is the event id that
-- receivers de-duplicate on). Kept whether or not webhooks are enabled: it is the audit trail.
CREATE TABLE webhook_events (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_listing ON webhook_events (created_at, id);
CREATE INDEX webhook_events_by_kind ON webhook_events (kind, created_at, id);

-- One event to one endpoint. `attempts` counts claims (a claim is a POST about to be made), so
-- a daemon that dies mid-POST still uses up an attempt, and the attempt number fences the
-- result: only the holder of the latest claim records it.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES webhook_events (id),
    endpoint         text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_http_status integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL,
    UNIQUE (event_id, endpoint)
);
-- The worker's claim query: pending deliveries by due time, nothing else.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

-- Every POST made, with what came back (shown by GET /v1/webhook-events/{id}).
CREATE TABLE webhook_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id),
    attempt_no   integer NOT NULL,
    attempted_at timestamptz NOT NULL,
    http_status  integer,
    error        text,
    duration_ms  integer NOT NULL,
    UNIQUE (delivery_id, attempt_no)
);
