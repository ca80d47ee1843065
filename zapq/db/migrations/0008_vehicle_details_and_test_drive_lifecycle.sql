-- What customers filter on ("automático", "flex", "até 50 mil km", "7 lugares") and the
-- description semantic search will read. Existing rows get the commonest values.
ALTER TABLE vehicles
    ADD COLUMN transmission text NOT NULL DEFAULT 'manual'
        CHECK (transmission IN ('manual', 'automatic')),
    ADD COLUMN fuel text NOT NULL DEFAULT 'flex'
        CHECK (fuel IN ('flex', 'gasoline', 'diesel', 'hybrid', 'electric')),
    ADD COLUMN km integer NOT NULL DEFAULT 0 CHECK (km >= 0),
    ADD COLUMN seats smallint NOT NULL DEFAULT 5 CHECK (seats BETWEEN 1 AND 9),
    ADD COLUMN description text NOT NULL DEFAULT '';

-- A test drive's life: booked, then moved (rescheduled, still active), cancelled by the
-- customer, or closed by the dealership as done or no-show. Only an active booking holds
-- its customer's slot, so a slot freed by a cancellation can be booked again.
ALTER TABLE test_drives
    ADD COLUMN status text NOT NULL DEFAULT 'booked'
        CHECK (status IN ('booked', 'rescheduled', 'cancelled', 'done', 'no_show')),
    ADD COLUMN booked_starts_at timestamptz,  -- the first slot, when the booking was moved
    ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now();
UPDATE test_drives SET booked_starts_at = starts_at;
ALTER TABLE test_drives ALTER COLUMN booked_starts_at SET NOT NULL;
ALTER TABLE test_drives DROP CONSTRAINT test_drives_wa_id_starts_at_key;
CREATE UNIQUE INDEX test_drives_active_slot ON test_drives (wa_id, starts_at)
    WHERE status IN ('booked', 'rescheduled');
CREATE INDEX test_drives_wa_id ON test_drives (wa_id);
