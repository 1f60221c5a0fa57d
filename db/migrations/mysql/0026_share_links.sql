-- Public links to a share's content. The token is stored only as its
-- SHA-256 (hex), and found by it: 192 random bits make a fast hash as safe
-- as a slow one. The password, when there is one, is a bcrypt hash like a
-- user's. downloads is claimed atomically (UPDATE ... WHERE downloads <
-- max_downloads), so counting is exact across processes. A link ends with
-- its share and with the user who made it (cascade); a revoked one stays,
-- with revoked_at, so it answers 410 rather than 404.
CREATE TABLE IF NOT EXISTS share_links (
    link_id       VARBINARY(32)  NOT NULL,
    share_id      VARBINARY(36)  NOT NULL,
    created_by    BIGINT         NOT NULL,
    token_hash    VARBINARY(64)  NOT NULL,
    label         VARBINARY(256) NULL, -- 64 characters of up to 4 bytes
    password_hash VARBINARY(255) NULL,
    expires_at    DATETIME(6)    NULL,
    max_downloads BIGINT         NULL,
    downloads     BIGINT         NOT NULL DEFAULT 0,
    created_at    DATETIME(6)    NOT NULL,
    revoked_at    DATETIME(6)    NULL,
    PRIMARY KEY (link_id),
    UNIQUE KEY share_links_token (token_hash),
    KEY share_links_share (share_id, created_at), -- ShareLinks' order, the count
    KEY share_links_created_by (created_by),
    CONSTRAINT share_links_share_fk FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE,
    CONSTRAINT share_links_user_fk FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
