-- Failed logins, counted per typed identifiant and per client address to
-- slow down password guessing. Rows older than a day no longer count.

CREATE TABLE login_failures (
    -- 'identifiant:<identifiant as typed, lower-cased>' or 'adresse:<IP>'.
    throttle_key text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_by_key ON login_failures (throttle_key, failed_at);
CREATE INDEX login_failures_by_time ON login_failures (failed_at);
