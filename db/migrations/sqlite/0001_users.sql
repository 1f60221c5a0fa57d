-- SQLite migrations: one file per schema object, a table with its indexes,
-- applied in one transaction (SQLite DDL is transactional). Never edit a
-- file once shipped; add a new one. The same numbers exist for MySQL.
-- Times are TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: fixed width, so text
-- order is time order.
CREATE TABLE IF NOT EXISTS users (
    -- AUTOINCREMENT: a deleted user's id is never handed out again, so a
    -- token naming the old account can never match a new one.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    permissions   INTEGER NOT NULL DEFAULT 0, -- domain.Perm bit mask
    register_date TEXT    NOT NULL
) STRICT;

-- ListUsers' order.
CREATE INDEX IF NOT EXISTS users_register_date ON users (register_date, username);
