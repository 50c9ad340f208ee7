-- A CertiTrade card update (issue 12, part 3) is completed by the customer later, at the
-- payment window: what to do with the failed cycles, as the request chose, is kept until then.
ALTER TABLE payment_accounts
    ADD COLUMN card_update_failed_cycle text CHECK (card_update_failed_cycle IN ('charge', 'leave'));
