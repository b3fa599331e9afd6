-- Pupils, responsable records and the links between them, as imported from
-- ONDE and SIECLE, with the state each link's responsable gave it.

CREATE TABLE responsables (
    responsable_id text PRIMARY KEY,
    academie text NOT NULL,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    civilite text NOT NULL,
    nom text NOT NULL,
    prenom text NOT NULL,
    email text,
    telephone_portable text,
    removed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE eleves (
    eleve_id text PRIMARY KEY,
    academie text NOT NULL,
    ine text,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    source_eleve_id text,
    uai text NOT NULL,
    classe text NOT NULL,
    nom text NOT NULL,
    nom_usage text,
    prenom text NOT NULL,
    date_naissance date NOT NULL,
    enrolled boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE link_state AS ENUM ('proposed', 'confirmed', 'refused');

-- A link exists while its source has it; when the source drops it the row is
-- deleted and a link.removed event says which state it had.
CREATE TABLE links (
    link_id uuid PRIMARY KEY,
    eleve_id text NOT NULL REFERENCES eleves (eleve_id),
    responsable_id text NOT NULL,
    academie text NOT NULL,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    code_parente text,
    state link_state NOT NULL DEFAULT 'proposed',
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    UNIQUE (eleve_id, responsable_id)
);

CREATE INDEX links_by_responsable ON links (responsable_id);

-- Every decision a responsable made on a link, kept after the link is gone.
CREATE TABLE decision_audit (
    id bigserial PRIMARY KEY,
    link_id uuid NOT NULL,
    responsable_id text NOT NULL,
    eleve_id text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('confirm', 'refuse')),
    screen text NOT NULL,
    previous_state link_state NOT NULL,
    new_state link_state NOT NULL,
    correlation_id text,
    decided_at timestamptz NOT NULL DEFAULT now()
);
