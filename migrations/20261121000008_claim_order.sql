-- The claim walks open charges in the order it sends them, a window at a time (keyset on
-- next_attempt_at, due_at, id), so each claim reads a bounded slice of the queue however many
-- charges are open and whatever the planner believes about them: statistics taken while the
-- queue was empty say "no charge is due", and a plan built on that belief must still be cheap.
DROP INDEX charges_open;
CREATE INDEX charges_claim_order ON charges (next_attempt_at, due_at, id) WHERE status = 'due';

-- A charge row is updated twice before it settles (claimed: its lease; written down: its
-- request), neither time in an indexed column: with room left on its page those are HOT
-- updates, which touch none of the table's six indexes.
ALTER TABLE charges SET (fillfactor = 75);
-- An attempt row is inserted when its request goes out and updated once with the answer:
-- room on its page makes that update HOT too.
ALTER TABLE charge_attempts SET (fillfactor = 75);
