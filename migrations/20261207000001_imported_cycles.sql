-- Cycles billed by the system a subscription was taken over from are kept as charges with the
-- status 'imported': the (subscription, cycle) key then makes them unbillable here, and the
-- history shows where billingd took over. They are never sent and carry no request.
ALTER TABLE charges DROP CONSTRAINT charges_status_check;
ALTER TABLE charges ADD CONSTRAINT charges_status_check
    CHECK (status IN ('due', 'approved', 'failed', 'held', 'skipped', 'cancelled', 'imported'));
