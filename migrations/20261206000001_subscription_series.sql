-- A stored-credential series belongs to one agreement — one subscription — not to the card:
-- two plans on one card are two series, each with its own first payment and one processing
-- model (see docs/series.md). The series moves from payment_accounts to subscriptions.
ALTER TABLE subscriptions
    -- The approved first payment of the subscription's series and the card network's reference
    -- for it; NULL: the next charge opens a new series and is sent as `first`.
    ADD COLUMN series_payment_id       text,
    ADD COLUMN series_scheme_reference text,
    -- The processing model the series was opened with; it never changes within the series.
    ADD COLUMN series_processing_model text
        CHECK (series_processing_model IN ('recurring', 'installment')),
    -- When the series was last closed (a re-initialized credential). A `first` payment sent
    -- before then does not open the next series, even if its answer comes in later.
    ADD COLUMN series_closed_at        timestamptz,
    ADD CONSTRAINT series_has_a_model
        CHECK ((series_payment_id IS NULL) = (series_processing_model IS NULL));

-- Existing series. An account's series was opened by the one `first` charge approved since the
-- account's credential was last (re-)initialized: that charge's subscription keeps it, with the
-- model that first payment was sent under.
--
-- Every other subscription on the account opens a new series with its next charge, even though
-- its earlier charges went out as `subsequent` referring to the account's series. That is the
-- conservative choice: those payments referred to another agreement's first payment (the very
-- mistake being corrected), and a new `first` under a subscription's own plan is always a valid
-- start of its agreement, while carrying on with a reference to another plan's first payment
-- would keep a wrong series going for good. The same holds for a series the merchant imported
-- with the account (no charge of billingd's opened it, so which plan it belongs to is unknown):
-- it is kept in the account's history below and can be given to the right subscription by the
-- merchant, but no subscription continues it unasked.
UPDATE subscriptions s
   SET series_payment_id = a.series_payment_id,
       series_scheme_reference = a.series_scheme_reference,
       series_processing_model = opener.processing_model
  FROM payment_accounts a,
       LATERAL (SELECT c.subscription_id, c.processing_model FROM charges c
                 WHERE c.account_id = a.id AND c.status = 'approved' AND c.sequence = 'first'
                   AND c.gateway_payment_id = a.series_payment_id
                 ORDER BY c.settled_at, c.id LIMIT 1) opener
 WHERE a.series_payment_id IS NOT NULL
   AND s.account_id = a.id
   AND s.id = opener.subscription_id;

-- The move, in each account's history (appended, never updated), so an operator can tell why a
-- subscription opens a new series. Migrations have no clock but the database's.
INSERT INTO account_events (account_id, kind, detail, occurred_at)
SELECT a.id, 'account.series_moved',
       jsonb_build_object(
           'payment_id', a.series_payment_id,
           'scheme_reference', a.series_scheme_reference,
           'kept_by_subscription',
               (SELECT s.id FROM subscriptions s
                 WHERE s.account_id = a.id AND s.series_payment_id = a.series_payment_id
                 LIMIT 1),
           'new_series_for_subscriptions',
               COALESCE((SELECT jsonb_agg(s.id ORDER BY s.created_at, s.id) FROM subscriptions s
                          WHERE s.account_id = a.id AND s.series_payment_id IS NULL
                            AND s.status NOT IN ('completed', 'cancelled')),
                        '[]'::jsonb),
           'why', 'a stored-credential series belongs to one subscription; the others open their own'),
       now()
  FROM payment_accounts a
 WHERE a.series_payment_id IS NOT NULL;

-- The account columns stay for this release: during a rolling upgrade the previous binary still
-- reads them (docs/deploy.md: a migration never drops what the running release uses). Emptied,
-- they make that binary open a new series (`first`) rather than continue one across plans; a
-- later release drops them.
UPDATE payment_accounts
   SET series_payment_id = NULL, series_scheme_reference = NULL
 WHERE series_payment_id IS NOT NULL OR series_scheme_reference IS NOT NULL;
