-- Unfinished chunked uploads, one per (share, dzuuid).
CREATE TABLE IF NOT EXISTS uploads (
    -- AUTOINCREMENT: a late request holding a finished upload's id must
    -- never reach a newer upload that reused it.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    share_id     TEXT    NOT NULL REFERENCES shares (share_id) ON DELETE CASCADE,
    dzuuid       BLOB    NOT NULL, -- client-chosen bytes, compared exactly
    total_chunks INTEGER NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0, -- distinct chunk indexes stored
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL, -- last chunk received: cleanup spares active uploads
    claimed_at   TEXT,             -- set while one request joins the chunks
    UNIQUE (share_id, dzuuid)
) STRICT;

-- DeleteStale.
CREATE INDEX IF NOT EXISTS uploads_updated_at ON uploads (updated_at);
