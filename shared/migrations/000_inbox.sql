-- Ids of the messages a consumer has applied, written in the same transaction
-- as their effect, so that a redelivered message changes nothing.
CREATE TABLE processed_messages (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
