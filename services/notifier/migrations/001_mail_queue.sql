-- Every mail the notifier has to send, rendered once when its event arrives.
-- A row is never deleted: 'queued' rows are sent when next_attempt_at is
-- reached, 'sent' rows keep what was delivered, and 'parked' rows wait for an
-- operator with the reason automatic delivery stopped.
CREATE TABLE mail_queue (
    id bigserial PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    kind text NOT NULL,
    event_id uuid NOT NULL,
    academie text NOT NULL,
    to_addresses text[] NOT NULL,
    cc_addresses text[] NOT NULL DEFAULT '{}',
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sent', 'parked')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    parked_reason text,
    correlation_id text,
    queued_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    CHECK (status <> 'queued' OR cardinality(to_addresses) > 0),
    CHECK (status <> 'parked' OR parked_reason IS NOT NULL),
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);

CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at, id)
    WHERE status = 'queued';
CREATE INDEX mail_queue_parked ON mail_queue (queued_at)
    WHERE status = 'parked';
