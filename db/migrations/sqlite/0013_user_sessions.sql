-- Ended sessions. A token carries the session epoch its user had when it
-- was issued (claim "sep", 0 when absent); it is valid only while that is
-- at least the user's epoch here (0 without a row), except the one token
-- kept_jti, which a password change keeps alive. A counter rather than a
-- time: a JWT's iat has one-second resolution, so "issued before T" cannot
-- tell a token issued just before the cut from one issued just after.
CREATE TABLE IF NOT EXISTS user_sessions (
    user_id  INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    epoch    INTEGER NOT NULL,
    kept_jti TEXT
) STRICT;
