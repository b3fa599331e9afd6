-- Rejected decisions in the audit trail, the links that sources dropped, and
-- the indexes that throttle birth-date guesses.

-- A rejected decision changes no state, so it has no new state; ``outcome``
-- says whether the decision was applied or why it was rejected.
ALTER TABLE decision_audit
    ALTER COLUMN new_state DROP NOT NULL,
    ADD COLUMN outcome text NOT NULL DEFAULT 'applied' CHECK (outcome IN (
        'applied', 'birth_date_missing', 'birth_date_mismatch',
        'too_many_attempts', 'last_confirmed_link'
    ));

ALTER TABLE decision_audit ALTER COLUMN outcome DROP DEFAULT;

-- Wrong birth dates are counted per responsable and per pupil over a sliding
-- window; the typed date itself is never stored.
CREATE INDEX decision_audit_mismatch_by_responsable
    ON decision_audit (responsable_id, decided_at)
    WHERE outcome = 'birth_date_mismatch';
CREATE INDEX decision_audit_mismatch_by_eleve
    ON decision_audit (eleve_id, decided_at)
    WHERE outcome = 'birth_date_mismatch';

-- Links that their source no longer has. A pupil who leaves a 1D school (ONDE)
-- and arrives in a 2D school (SIECLE) may be removed from ONDE before SIECLE
-- brings them; the confirmation is carried over from this table then.
CREATE TABLE removed_links (
    link_id uuid PRIMARY KEY,
    eleve_id text NOT NULL,
    responsable_id text NOT NULL,
    source text NOT NULL CHECK (source IN ('onde', 'siecle')),
    previous_state link_state NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX removed_links_by_eleve ON removed_links (eleve_id);
