-- An event's payload is kept as the JSON text billingd wrote (`json`, validated but not
-- decomposed), not as `jsonb`: it is written once per approved charge on the billing path and
-- only read back whole (webhook deliveries, the events API), never queried inside. Converting
-- each payload to jsonb was most of what a `charge.approved` event cost the database.
-- The conversion rewrites the table once, under an exclusive lock: on a large event table, run
-- `billingd prune` first (docs/operations.md).
ALTER TABLE webhook_events ALTER COLUMN payload TYPE json USING payload::json;
