-- Upload requests: links through which someone without an account
-- uploads into new shares owned by owner_name. Only the token's SHA-256
-- (hex) is kept: the token is 256 random bits, so a fast hash is enough.
-- files_used counts the shares created through the link (max_files bounds
-- it); revoked_at ends the link without forgetting it (410, not 404).
CREATE TABLE IF NOT EXISTS upload_requests (
    id          TEXT    NOT NULL PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    owner_name  TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    label       TEXT,
    max_files   INTEGER,
    max_bytes   INTEGER,
    expires_at  TEXT,
    files_used  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
) STRICT;

CREATE INDEX IF NOT EXISTS upload_requests_owner ON upload_requests (owner_name, created_at);
