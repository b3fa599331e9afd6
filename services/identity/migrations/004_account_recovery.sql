-- E-mail addresses compared in lower case and held by one account at most,
-- and the single-use tokens of password resets and e-mail changes.

-- Addresses typed at activation were stored as typed. From now on identity
-- stores them trimmed and in lower case, so that « Marie.Dupont@Exemple.fr »
-- and « marie.dupont@exemple.fr » are one address.
UPDATE accounts SET email = lower(btrim(email)) WHERE email <> lower(btrim(email));
UPDATE accounts SET email = NULL WHERE btrim(email) = '';

-- Accounts that already share an address keep it on the oldest activated
-- one. The others lose it, so no login or reset link can reach two accounts,
-- and the address they had is kept here. Their holders still log in with
-- their identifiant and can give a new address in *Mon compte*.
CREATE TABLE email_duplicates_removed (
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    email text NOT NULL,
    kept_by uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    removed_at timestamptz NOT NULL DEFAULT now()
);

WITH ranked AS (
    SELECT account_id, email,
           first_value(account_id) OVER (
               PARTITION BY email ORDER BY activated_at NULLS LAST, created_at,
                                           account_id
           ) AS kept_by
    FROM accounts
    WHERE email IS NOT NULL
)
INSERT INTO email_duplicates_removed (account_id, email, kept_by)
SELECT account_id, email, kept_by FROM ranked WHERE account_id <> kept_by;

UPDATE accounts SET email = NULL, updated_at = now()
WHERE account_id IN (SELECT account_id FROM email_duplicates_removed);

CREATE UNIQUE INDEX accounts_email_unique ON accounts (email)
WHERE email IS NOT NULL;

-- A link sent by e-mail to choose a new password. Only the SHA-256 of its
-- random token is stored, so a database read gives no working link away.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX password_resets_by_account ON password_resets (account_id);

-- A link sent to a new e-mail address, which replaces the account's address
-- once opened. Stored as a hash for the same reason.
CREATE TABLE email_verifications (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX email_verifications_by_account ON email_verifications (account_id);
