-- What the importer last published, so that a full import publishes only
-- what changed since (see services/importer/changes.py).

-- Pupils of each scope (académie, source, UAI) with the digest of the
-- EleveImported payload last published for them.
CREATE TABLE snapshot_eleves (
    academie text NOT NULL,
    source text NOT NULL,
    uai text NOT NULL,
    eleve_id text NOT NULL,
    digest text NOT NULL,
    PRIMARY KEY (academie, source, uai, eleve_id)
);

-- Responsables each scope contains, with the digest of the payload that scope
-- last read.
CREATE TABLE snapshot_responsables (
    academie text NOT NULL,
    source text NOT NULL,
    uai text NOT NULL,
    responsable_id text NOT NULL,
    digest text NOT NULL,
    PRIMARY KEY (academie, source, uai, responsable_id)
);

CREATE INDEX snapshot_responsables_by_id
    ON snapshot_responsables (academie, source, responsable_id);

-- Digest of the ResponsableImported payload last published for a source of
-- an académie; the row goes when the ResponsableRemoved is published.
CREATE TABLE published_responsables (
    academie text NOT NULL,
    source text NOT NULL,
    responsable_id text NOT NULL,
    digest text NOT NULL,
    PRIMARY KEY (academie, source, responsable_id)
);
