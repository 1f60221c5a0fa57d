-- Bytes an upload in progress has reserved against its share owner's
-- quota, so that concurrent uploads cannot together pass it. One row per
-- chunk request: dzuuid is NULL while the chunk streams, and set once the
-- chunk is recorded; the rows of an upload go when it completes (its
-- content then counts as the share's size), and cleanup drops those whose
-- upload is gone. A share's holds go with it.
CREATE TABLE IF NOT EXISTS quota_holds (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_name TEXT    NOT NULL,
    share_id   TEXT    NOT NULL REFERENCES shares (share_id) ON DELETE CASCADE,
    dzuuid     BLOB,  -- as uploads.dzuuid: bytes, compared exactly
    bytes      INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL
) STRICT;

-- Reserve's sum of an owner's holds; ReleaseHolds.
CREATE INDEX IF NOT EXISTS quota_holds_owner ON quota_holds (owner_name);
CREATE INDEX IF NOT EXISTS quota_holds_upload ON quota_holds (share_id, dzuuid);
