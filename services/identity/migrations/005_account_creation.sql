-- Accounts created without a notice, with a one-time code sent by SMS to the
-- mobile phone a school knows for the responsable, and the audit of records
-- moved from one account to another.

-- Mobile phone whose code created the account, digits in national form.
-- NULL for notice accounts. It tells why a child is proposed.
ALTER TABLE accounts ADD COLUMN creation_mobile text;

-- Records are matched on the mobile digits before the names are compared,
-- so the lookup reads only the rows of one number.
CREATE INDEX accounts_by_mobile_digits
    ON accounts ((regexp_replace(source_mobile, '[^0-9]', '', 'g')))
    WHERE source_mobile IS NOT NULL;

-- A code sent to create an account. ``account_id`` is the id the account
-- will get; the records are those that matched when the code was sent.
CREATE TABLE creation_codes (
    account_id uuid PRIMARY KEY,
    mobile text NOT NULL,
    nom text NOT NULL,
    prenom text NOT NULL,
    responsable_ids text[] NOT NULL,
    -- HMAC-SHA-256 of the code with the service's secret key, so a database
    -- read gives no working code away.
    code_hash bytea NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE INDEX creation_codes_by_expiry ON creation_codes (expires_at);

-- Requests for a code, counted per mobile number and per client address to
-- keep SMS from being sent in bulk. Rows older than a day no longer count.
CREATE TABLE code_requests (
    -- 'mobile:<digits>' or 'adresse:<IP>'.
    throttle_key text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX code_requests_by_key ON code_requests (throttle_key, requested_at);

-- Each responsable record moved from one account to another: by an account
-- creation with a code, or by grouping another account's children.
CREATE TABLE responsable_moves (
    responsable_id text NOT NULL,
    from_account_id uuid,
    to_account_id uuid NOT NULL,
    reason text NOT NULL CHECK (reason IN ('creation', 'grouping')),
    moved_at timestamptz NOT NULL DEFAULT now()
);
