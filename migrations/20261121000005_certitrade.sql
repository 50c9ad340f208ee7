-- CertiTrade accounts and re-initialization requests.
ALTER TABLE payment_accounts DROP CONSTRAINT payment_accounts_state_check;
ALTER TABLE payment_accounts ADD CONSTRAINT payment_accounts_state_check
    CHECK (state IN ('initializing', 'active', 'suspended', 'closed'));
ALTER TABLE payment_accounts DROP CONSTRAINT payroc_handle_complete;
ALTER TABLE payment_accounts ADD CONSTRAINT gateway_handle_complete CHECK (
    (gateway = 'payroc' AND payroc_terminal_id IS NOT NULL AND payroc_token IS NOT NULL)
    OR gateway = 'certitrade');
ALTER TABLE payment_accounts
    -- CertiTrade's payment_account id: the gateway keeps the card and the series behind it.
    ADD COLUMN certitrade_account_id text,
    -- An (re-)initialization the customer must complete: the gateway's initializing payment
    -- and the link to give the customer (CertiTrade's paywin). NULL when none is pending.
    ADD COLUMN init_payment_id text,
    ADD COLUMN init_link text,
    ADD COLUMN init_requested_at timestamptz;
CREATE UNIQUE INDEX payment_accounts_by_init_payment ON payment_accounts (init_payment_id)
    WHERE init_payment_id IS NOT NULL;
