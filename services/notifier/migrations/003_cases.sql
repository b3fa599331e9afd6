-- Correction cases: each refused link opens one, which stays open until the
-- responsable withdraws the refusal or the source no longer has the link.
-- The refusal event is kept whole so that reminders, escalations and the
-- closing notice repeat what the first mail said.
CREATE TABLE cases (
    id bigserial PRIMARY KEY,
    link_id uuid NOT NULL,
    academie text NOT NULL,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    opened_by uuid NOT NULL UNIQUE,
    refusal jsonb NOT NULL,
    refused_at timestamptz NOT NULL,
    deadline date NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    reminded_at timestamptz,
    escalated_at timestamptz,
    closed_at timestamptz,
    closed_by uuid,
    closed_reason text CHECK (closed_reason IN ('withdrawn', 'corrected')),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL AND closed_reason IS NOT NULL))
);

-- At most one open case per link; a link refused again after its case closed
-- opens a new one.
CREATE UNIQUE INDEX cases_open_link ON cases (link_id) WHERE status = 'open';
CREATE INDEX cases_open_deadline ON cases (deadline) WHERE status = 'open';

-- The daily digests already queued, one per académie and Paris day.
CREATE TABLE digests (
    academie text NOT NULL,
    digest_date date NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (academie, digest_date)
);
