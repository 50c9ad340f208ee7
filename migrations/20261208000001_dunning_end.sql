-- The dunning end (`dunning.end`, `dunning.grace`): each billing run looks for subscriptions
-- past due whose grace ran out. Few subscriptions are past due; this keeps that look from
-- reading the whole book.
CREATE INDEX subscriptions_past_due ON subscriptions (id) WHERE status = 'past_due';
