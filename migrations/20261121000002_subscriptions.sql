-- A subscription charges one account a fixed amount on a calendar schedule. The schedule is
-- kept as the merchant stated it (local anchor + IANA zone + interval) so that every cycle's
-- due time is recomputed from the anchor, never chained from the previous one.
CREATE TABLE subscriptions (
    id                 uuid PRIMARY KEY,
    account_id         uuid NOT NULL REFERENCES payment_accounts (id),
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    anchor_local       timestamp NOT NULL,
    time_zone          text NOT NULL,
    interval_unit      text NOT NULL CHECK (interval_unit IN ('day', 'week', 'month', 'year')),
    interval_count     integer NOT NULL CHECK (interval_count > 0),
    total_cycles       integer CHECK (total_cycles > 0),
    status             text NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'held', 'past_due', 'paused', 'completed', 'cancelled')),
    -- The next cycle to materialize and its due instant; NULL due time = nothing left to bill.
    next_cycle         integer NOT NULL DEFAULT 1 CHECK (next_cycle > 0),
    next_due_at        timestamptz,
    merchant_reference text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
-- The tick's scan: "everything active whose next cycle is due".
CREATE INDEX subscriptions_due ON subscriptions (next_due_at) WHERE status = 'active';
CREATE INDEX subscriptions_by_account ON subscriptions (account_id);
