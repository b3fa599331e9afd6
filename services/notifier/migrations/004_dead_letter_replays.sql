-- When an operator replayed a dead letter successfully; NULL while it waits.
ALTER TABLE dead_letters ADD COLUMN replayed_at timestamptz;
