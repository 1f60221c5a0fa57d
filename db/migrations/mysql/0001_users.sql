-- MySQL/MariaDB migrations: exactly one statement per file, because MySQL
-- commits each DDL statement on its own; CREATE TABLE carries its indexes
-- and IF NOT EXISTS, so a run interrupted before it was recorded can be
-- repeated. Never edit a file once shipped; add a new one. The same numbers
-- exist for SQLite.
-- Identifiers compared in SQL are VARBINARY: byte-exact like SQLite (no
-- case folding, no PAD SPACE), so both dialects agree on what is equal.
-- Times are DATETIME(6), UTC (the connection's time_zone is +00:00).
-- Needs InnoDB with a persistent AUTO_INCREMENT counter (MySQL 8.0+,
-- MariaDB 10.2.4+), so a deleted user's id is never handed out again.
CREATE TABLE IF NOT EXISTS users (
    id            BIGINT         NOT NULL AUTO_INCREMENT,
    username      VARBINARY(64)  NOT NULL,
    password_hash VARBINARY(255) NOT NULL,
    permissions   BIGINT         NOT NULL DEFAULT 0, -- domain.Perm bit mask
    register_date DATETIME(6)    NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_username (username),
    KEY users_register_date (register_date, username) -- ListUsers' order
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
