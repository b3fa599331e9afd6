-- School staff and the scope of their *Administration des comptes*, the
-- actions they take on responsables' accounts, and the version of each
-- account's notice.

-- A staff account ('personnel') sees one school (directeur d'école, chef
-- d'établissement) or the schools of one circonscription (IEN), listed in
-- circonscriptions.toml.
CREATE TABLE staff_scopes (
    account_id uuid PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('directeur', 'ien')),
    uai text,
    circonscription text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (role = 'directeur' AND uai IS NOT NULL AND circonscription IS NULL)
        OR (role = 'ien' AND circonscription IS NOT NULL AND uai IS NULL)
    )
);

-- Every action of a staff member on an account, kept after either is gone.
CREATE TABLE staff_audit (
    id bigserial PRIMARY KEY,
    staff_account_id uuid NOT NULL,
    action text NOT NULL CHECK (action IN (
        'provisional_password_reset', 'account_disabled', 'account_enabled',
        'notices_printed'
    )),
    -- The account acted on; NULL when notices of a whole class were printed.
    target_account_id uuid,
    uai text NOT NULL,
    -- The class whose notices were printed.
    classe text,
    acted_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX staff_audit_by_target ON staff_audit (target_account_id, acted_at);

-- The provisional password is derived from the account id and this number;
-- raising it gives the account a new provisional password and voids the
-- printed notice. 0 keeps the passwords of the notices printed before.
ALTER TABLE accounts ADD COLUMN notice_version integer NOT NULL DEFAULT 0;
