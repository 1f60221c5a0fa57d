-- Upload requests: links through which someone without an account
-- uploads into new shares owned by owner_name. Only the token's SHA-256
-- (hex) is kept: the token is 256 random bits, so a fast hash is enough.
-- files_used counts the shares created through the link (max_files bounds
-- it); revoked_at ends the link without forgetting it (410, not 404).
CREATE TABLE IF NOT EXISTS upload_requests (
    id          VARBINARY(32)  NOT NULL,
    token_hash  CHAR(64) CHARACTER SET ascii NOT NULL,
    owner_name  VARBINARY(64)  NOT NULL,
    label       VARCHAR(200)   NULL,
    max_files   INT            NULL,
    max_bytes   BIGINT         NULL,
    expires_at  DATETIME(6)    NULL,
    files_used  INT            NOT NULL DEFAULT 0,
    created_at  DATETIME(6)    NOT NULL,
    revoked_at  DATETIME(6)    NULL,
    PRIMARY KEY (id),
    UNIQUE KEY upload_requests_token (token_hash),
    KEY upload_requests_owner (owner_name, created_at),
    CONSTRAINT upload_requests_owner_fk FOREIGN KEY (owner_name) REFERENCES users (username) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
