-- Accounts of responsables, provisioned from the imports, and the browser
-- sessions of the front door.

CREATE TABLE accounts (
    account_id uuid PRIMARY KEY,
    identifiant text NOT NULL UNIQUE,
    responsable_id text NOT NULL UNIQUE,
    academie text NOT NULL,
    civilite text NOT NULL,
    nom text NOT NULL,
    prenom text NOT NULL,
    -- E-mail known to the school; the account's own e-mail is set at activation.
    source_email text,
    email text,
    password_hash text,
    activated_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((activated_at IS NULL) = (password_hash IS NULL))
);

CREATE TABLE sessions (
    -- SHA-256 of the random token in the cookie, so a database read does not
    -- give live sessions away.
    token_hash bytea PRIMARY KEY,
    account_id uuid REFERENCES accounts (account_id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_expiry ON sessions (expires_at);
