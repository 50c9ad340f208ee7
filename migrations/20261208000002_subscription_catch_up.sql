-- A subscription's own catch-up (issue 12, part 5), each overriding the daemon's
-- (`billing.catch_up`, `billing.catch_up_max_cycles`) where set: NULL follows the daemon.
ALTER TABLE subscriptions
    ADD COLUMN catch_up text CHECK (catch_up IN ('all', 'latest')),
    ADD COLUMN catch_up_max_cycles integer CHECK (catch_up_max_cycles > 0);
