-- Revoked JWT ids, kept until the token would have expired anyway.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        VARBINARY(255) NOT NULL,
    expires_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (jti),
    KEY revoked_tokens_expires_at (expires_at) -- PurgeRevoked
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
