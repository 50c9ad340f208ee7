-- A fencing token for charge leases: every claim increments it, and every write a claim makes
-- (writing its request down, logging a send, recording the answer) checks it. A daemon whose
-- lease expired — stalled, or slower than its lease — cannot write over the claim that took
-- the charge over, even when that claim is its own (the same worker id, a later claim).
ALTER TABLE charges ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;
