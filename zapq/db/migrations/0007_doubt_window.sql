-- When a retry first found a send's attempt unfinished, recorded only when that retry came back
-- from a dependency outage: the status webhook that would settle the doubt may have been waiting
-- for PostgreSQL all along, so the wait for it starts again from here, not from the attempt.
ALTER TABLE outbound_messages ADD COLUMN doubt_seen_at timestamptz;
