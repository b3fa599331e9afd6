-- An event that Kafka can never accept (too large for the broker) is set
-- aside with the reason, so that it does not block the events behind it.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
ALTER TABLE outbox ADD COLUMN failure text;

DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (id)
    WHERE published_at IS NULL AND failed_at IS NULL;
