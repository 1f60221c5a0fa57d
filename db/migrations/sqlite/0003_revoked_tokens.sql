-- Revoked JWT ids, kept until the token would have expired anyway.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- PurgeRevoked.
CREATE INDEX IF NOT EXISTS revoked_tokens_expires_at ON revoked_tokens (expires_at);
