-- The school of each pupil account, as the last import of the pupil gives it:
-- the pupil's portal shows it and offers the téléservices of its level.

CREATE TABLE eleve_schools (
    account_id uuid PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    uai text NOT NULL,
    -- SIECLE division code or ONDE class label.
    classe text NOT NULL,
    -- Set when the source no longer enrols the pupil in this school; the
    -- account stays, and a later import of the pupil clears it.
    removed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
