-- Accounts of pupils and school staff beside those of responsables, the
-- responsable records an account holds, and the two ways an account can be
-- kept from logging in.

ALTER TABLE accounts
    ADD COLUMN kind text NOT NULL DEFAULT 'responsable'
        CHECK (kind IN ('responsable', 'eleve', 'personnel')),
    ALTER COLUMN responsable_id DROP NOT NULL,
    -- Pupil accounts: the pupil's id in links (the INE when known).
    ADD COLUMN eleve_id text UNIQUE,
    -- Mobile phone known to the school for the account's own record.
    ADD COLUMN source_mobile text,
    -- Set after too many wrong passwords; the account logs in again after
    -- this time or after a verified password reset.
    ADD COLUMN locked_until timestamptz,
    -- Set by an administrator; the account cannot log in until re-enabled.
    ADD COLUMN disabled_at timestamptz;

-- The responsable records whose children an account sees and decides. A
-- notice account holds its own record; an account created with a one-time
-- code, or one that grouped another account's children, holds several. A
-- record belongs to one account at a time.
CREATE TABLE account_responsables (
    responsable_id text PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_responsables_by_account ON account_responsables (account_id);

INSERT INTO account_responsables (responsable_id, account_id, added_at)
SELECT responsable_id, account_id, created_at FROM accounts
WHERE responsable_id IS NOT NULL;
