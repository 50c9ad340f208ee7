-- Payment accounts: a stored credential at one gateway. Never a card number: only the
-- gateway's token handle and what a merchant needs to show the customer (masked card, expiry).
CREATE TABLE payment_accounts (
    id                      uuid PRIMARY KEY,
    gateway                 text NOT NULL CHECK (gateway IN ('payroc', 'certitrade')),
    state                   text NOT NULL DEFAULT 'active'
                            CHECK (state IN ('active', 'suspended', 'closed')),
    -- Payroc handle: terminal that owns the token, the merchant-visible id and the token itself.
    payroc_terminal_id      text,
    payroc_secure_token_id  text,
    payroc_token            text,
    card_masked             text,
    card_expiry             text,
    -- First transaction of the current stored-credential series. NULL means the next charge
    -- opens a new series and is sent as `first`.
    series_payment_id       text,
    series_scheme_reference text,
    suspended_at            timestamptz,
    suspension_reason       text,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    CONSTRAINT payroc_handle_complete CHECK (
        gateway <> 'payroc' OR (payroc_terminal_id IS NOT NULL AND payroc_token IS NOT NULL))
);

-- History of what happened to an account (suspensions, re-initializations): never updated,
-- only appended, so an operator can always tell why an account is in its state.
CREATE TABLE account_events (
    id          bigserial PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES payment_accounts (id),
    kind        text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX account_events_by_account ON account_events (account_id, id);
