-- keys the daemon makes for itself on first start and every instance shares, e.g. the listing
-- cursor's tag key (random, never derived from JWT_SECRET: a public cursor must not help anyone
-- guess the control secret offline)
CREATE TABLE IF NOT EXISTS daemon_keys (
    name       text PRIMARY KEY,
    value      bytea NOT NULL CHECK (octet_length(value) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
