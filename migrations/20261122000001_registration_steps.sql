-- Resumable registration: the step an account's (re-)registration is on, and the request of a
-- step that is owed to a gateway, stored before it is sent so that a lost answer is settled by
-- resending that request (or by looking up what it made), never by a second request.
ALTER TABLE payment_accounts
    ADD COLUMN registration_step text NOT NULL DEFAULT 'done'
        CHECK (registration_step IN ('gateway_account', 'initializing_payment', 'secure_token',
                                     'customer', 'done', 'failed')),
    -- The owed step's request: CertiTrade its Date header and body; Payroc the secure token's
    -- Idempotency-Key and secureTokenId (never card details).
    ADD COLUMN registration_request text,
    -- The merchant's Idempotency-Key of the API call that created the account: a retry of
    -- that call continues this account instead of creating a second one.
    ADD COLUMN registration_key text,
    -- Whoever is working on an owed step (an API call or a billing run) holds it until then.
    ADD COLUMN registration_lease_until timestamptz,
    -- Since when the owed step's outcome has been unknown, and why.
    ADD COLUMN registration_unknown_since timestamptz,
    ADD COLUMN registration_error text,
    -- A Payroc re-initialization owed to the gateway: what to do with the refused cycles once
    -- its secure token is made (the merchant's choice, kept with the step).
    ADD COLUMN registration_refused_cycles text
        CHECK (registration_refused_cycles IN ('charge', 'skip'));

CREATE UNIQUE INDEX payment_accounts_by_registration_key ON payment_accounts (registration_key)
    WHERE registration_key IS NOT NULL;
CREATE INDEX payment_accounts_owing_a_step ON payment_accounts (registration_step)
    WHERE registration_step IN ('gateway_account', 'initializing_payment', 'secure_token');

-- A Payroc account being registered has no token yet, nor one whose registration was given
-- up (closed).
ALTER TABLE payment_accounts DROP CONSTRAINT gateway_handle_complete;
ALTER TABLE payment_accounts ADD CONSTRAINT gateway_handle_complete CHECK (
    (gateway = 'payroc' AND payroc_terminal_id IS NOT NULL
        AND (payroc_token IS NOT NULL OR state IN ('initializing', 'closed')))
    OR gateway = 'certitrade');

-- Existing accounts: a link with the customer is the customer's step; an initializing payment
-- the customer failed waits for the merchant; a CertiTrade account left initializing with
-- neither is a half-made registration (its initializing payment got an error or its answer was
-- lost), which the daemon now completes with a new initializing payment.
UPDATE payment_accounts SET registration_step = 'customer' WHERE init_payment_id IS NOT NULL;
UPDATE payment_accounts a SET registration_step = 'failed'
    WHERE a.state = 'initializing' AND a.init_payment_id IS NULL
      AND EXISTS (SELECT 1 FROM account_events e
                  WHERE e.account_id = a.id AND e.kind = 'account.initialization_failed');
UPDATE payment_accounts SET registration_step = 'initializing_payment'
    WHERE gateway = 'certitrade' AND state = 'initializing' AND init_payment_id IS NULL
      AND certitrade_account_id IS NOT NULL AND registration_step = 'done';
