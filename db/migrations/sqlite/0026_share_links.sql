-- Public links to a share's content. The token is stored only as its
-- SHA-256 (hex), and found by it: 192 random bits make a fast hash as safe
-- as a slow one. The password, when there is one, is a bcrypt hash like a
-- user's. downloads is claimed atomically (UPDATE ... WHERE downloads <
-- max_downloads), so counting is exact across processes. A link ends with
-- its share and with the user who made it (cascade); a revoked one stays,
-- with revoked_at, so it answers 410 rather than 404.
CREATE TABLE IF NOT EXISTS share_links (
    link_id       TEXT    NOT NULL PRIMARY KEY,
    share_id      TEXT    NOT NULL REFERENCES shares (share_id) ON DELETE CASCADE,
    created_by    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL UNIQUE,
    label         TEXT,
    password_hash TEXT,
    expires_at    TEXT,
    max_downloads INTEGER,
    downloads     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    revoked_at    TEXT
) STRICT;

-- ShareLinks' order and the per-share count.
CREATE INDEX IF NOT EXISTS share_links_share ON share_links (share_id, created_at);
-- The foreign key check when a user is deleted.
CREATE INDEX IF NOT EXISTS share_links_created_by ON share_links (created_by);
