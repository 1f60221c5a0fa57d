CREATE TABLE IF NOT EXISTS shares (
    share_id    TEXT    NOT NULL PRIMARY KEY,
    file_name   TEXT    NOT NULL,
    -- NULL: anonymous users own the share. No ON DELETE action: a user who
    -- still owns shares cannot be deleted.
    owner_name  TEXT    REFERENCES users (username),
    initialized INTEGER NOT NULL DEFAULT 0,
    locked      INTEGER NOT NULL DEFAULT 0,
    create_date TEXT    NOT NULL,
    size        INTEGER,
    sha256      TEXT,
    blob_id     TEXT,   -- storage name of the current content
    modified_at TEXT
) STRICT;

-- ListShares' order; also serves DeleteStale's create_date range.
CREATE INDEX IF NOT EXISTS shares_create_date ON shares (create_date, share_id);
-- DeleteUser's count and the foreign key check when a user is deleted.
CREATE INDEX IF NOT EXISTS shares_owner_name ON shares (owner_name);
-- FileReferenced.
CREATE INDEX IF NOT EXISTS shares_blob_id ON shares (blob_id);
