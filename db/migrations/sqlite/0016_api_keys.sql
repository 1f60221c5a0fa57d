-- API keys: long-lived credentials a user makes for scripts. The secret is
-- stored only as its SHA-256 (hex): it is 256 random bits, so a fast hash
-- is as good as a slow one and keeps every authenticated request cheap.
-- Permissions are the key's own mask; at each use they are intersected
-- with the user's current ones. A key dies with its user (cascade).
-- last_used is written at most once a minute per key, not per request.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT    NOT NULL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    permissions INTEGER NOT NULL, -- domain.Perm bit mask
    created_at  TEXT    NOT NULL,
    expires_at  TEXT,
    last_used   TEXT,
    UNIQUE (user_id, name)
) STRICT;
