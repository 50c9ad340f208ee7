-- Reconciliation with the gateways' ledgers (billingd reconcile, [reconcile]).

-- What a person must look at: money that moved in a way billingd did not decide, or that
-- billingd believes moved and the gateway does not show. `fingerprint` identifies the
-- discrepancy, so a later run or another replica finding it again stores (and announces)
-- nothing new.
CREATE TABLE reconciliation_findings (
    id           bigserial PRIMARY KEY,
    fingerprint  text NOT NULL UNIQUE,
    gateway      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('approved_not_recorded', 'missing_at_gateway',
                   'not_approved_at_gateway', 'duplicate_approval', 'unknown_sale')),
    charge_id    uuid REFERENCES charges (id),
    order_ref    text NOT NULL,
    -- The gateway's payment ids concerned, comma-separated; '' when there is none.
    payment_ids  text NOT NULL,
    amount_minor bigint,
    currency     text,
    detail       text NOT NULL,
    found_at     timestamptz NOT NULL
);
CREATE INDEX reconciliation_findings_listing ON reconciliation_findings (found_at, id);

-- One periodic run per gateway per period, whichever replica takes the turn first.
CREATE TABLE reconciliation_turns (
    gateway    text PRIMARY KEY,
    started_at timestamptz NOT NULL
);

-- A listed sale is matched to its charge by the reference it carried.
CREATE INDEX charge_attempts_by_order ON charge_attempts (order_id);
-- Charges approved within a window: each must be in the gateway's listing.
CREATE INDEX charges_approved_by_settled ON charges (settled_at) WHERE status = 'approved';
