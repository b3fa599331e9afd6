-- Consumed messages that no retry can process (no usable ce_id header, a
-- payload that does not match the contract), kept whole so an operator can
-- replay them once the producer is fixed, instead of blocking the partition.
CREATE TABLE dead_letters (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    "partition" integer NOT NULL,
    "offset" bigint NOT NULL,
    key bytea,
    headers jsonb NOT NULL,
    payload bytea,
    reason text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, "partition", "offset")
);
