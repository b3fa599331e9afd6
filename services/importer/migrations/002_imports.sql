-- Links of each pupil as last published, so that a full import can measure
-- the share of links it would remove.
ALTER TABLE snapshot_eleves
    ADD COLUMN responsable_ids text[] NOT NULL DEFAULT '{}';

-- One row per run of the importer: applied, held for an operator, rejected,
-- dry run, or failed. ``files`` lists what the run read (path, size, mtime),
-- so that confirming a held import can check the files did not change.
CREATE TABLE imports (
    id bigserial PRIMARY KEY,
    academie text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('full', 'delta')),
    status text NOT NULL CHECK (
        status IN ('running', 'applied', 'held', 'rejected', 'dry_run', 'failed')
    ),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    folders text[] NOT NULL,
    files jsonb NOT NULL DEFAULT '[]',
    -- Why the run was held, rejected or failed.
    reason text,
    -- Counts of report lines by entity and action, written when the run ends.
    totals jsonb NOT NULL DEFAULT '{}',
    -- What the hold measured: pupils and links before and removed.
    measures jsonb NOT NULL DEFAULT '{}',
    -- For a held run: the run that applied it once an operator confirmed.
    confirmed_by bigint REFERENCES imports (id),
    -- For a run that confirms a held one: that run.
    confirms bigint REFERENCES imports (id)
);

CREATE INDEX imports_by_academie ON imports (academie, id);

-- Detail lines of a run's report: one per pupil or responsable added,
-- changed, removed or held, and one per rejected file.
CREATE TABLE import_report_lines (
    import_id bigint NOT NULL REFERENCES imports (id),
    line_number integer NOT NULL,
    action text NOT NULL CHECK (
        action IN ('added', 'changed', 'removed', 'held', 'rejected')
    ),
    entity text NOT NULL CHECK (entity IN ('eleve', 'responsable', 'file')),
    source text,
    uai text,
    entity_id text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (import_id, line_number)
);
