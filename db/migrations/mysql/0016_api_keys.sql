-- API keys: long-lived credentials a user makes for scripts. The secret is
-- stored only as its SHA-256 (hex): it is 256 random bits, so a fast hash
-- is as good as a slow one and keeps every authenticated request cheap.
-- Permissions are the key's own mask; at each use they are intersected
-- with the user's current ones. A key dies with its user (cascade).
-- last_used is written at most once a minute per key, not per request.
-- name is VARBINARY like every compared identifier: byte-exact uniqueness.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      VARBINARY(32)  NOT NULL,
    user_id     BIGINT         NOT NULL,
    name        VARBINARY(256) NOT NULL, -- 64 characters of up to 4 bytes
    secret_hash VARBINARY(64)  NOT NULL,
    permissions BIGINT         NOT NULL, -- domain.Perm bit mask
    created_at  DATETIME(6)    NOT NULL,
    expires_at  DATETIME(6)    NULL,
    last_used   DATETIME(6)    NULL,
    PRIMARY KEY (key_id),
    UNIQUE KEY api_keys_user_name (user_id, name),
    CONSTRAINT api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
