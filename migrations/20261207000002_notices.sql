-- Notices sent ahead of a charge, one row per occasion: the primary key makes each notice
-- once-only across restarts and replicas (the insert and its webhook event share a
-- transaction). `occasion` is the cycle for charge.upcoming and the card expiry (MMYY) for
-- account.card_expiring.
CREATE TABLE notices (
    kind        text NOT NULL CHECK (kind IN ('charge.upcoming', 'account.card_expiring')),
    subject_id  uuid NOT NULL,
    occasion    text NOT NULL,
    noticed_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, subject_id, occasion)
);
