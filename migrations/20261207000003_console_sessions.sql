-- Sessions of the operator's console (src/console/). Only the SHA-256 of the random session id
-- is stored, so a copy of the table cannot sign anyone in; sessions live in Postgres so that
-- any replica serves them and a restart keeps them.
CREATE TABLE console_sessions (
    id_hash    bytea PRIMARY KEY,
    -- Every state-changing form carries it; checked against this on each POST.
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
