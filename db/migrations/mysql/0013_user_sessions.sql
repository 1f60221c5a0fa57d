-- Ended sessions. A token carries the session epoch its user had when it
-- was issued (claim "sep", 0 when absent); it is valid only while that is
-- at least the user's epoch here (0 without a row), except the one token
-- kept_jti, which a password change keeps alive. A counter rather than a
-- time: a JWT's iat has one-second resolution, so "issued before T" cannot
-- tell a token issued just before the cut from one issued just after.
CREATE TABLE IF NOT EXISTS user_sessions (
    user_id  BIGINT         NOT NULL,
    epoch    BIGINT         NOT NULL,
    kept_jti VARBINARY(255) NULL,
    PRIMARY KEY (user_id),
    CONSTRAINT user_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
