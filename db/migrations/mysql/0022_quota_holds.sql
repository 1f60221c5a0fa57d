-- Bytes an upload in progress has reserved against its share owner's
-- quota, so that concurrent uploads cannot together pass it. One row per
-- chunk request: dzuuid is NULL while the chunk streams, and set once the
-- chunk is recorded; the rows of an upload go when it completes (its
-- content then counts as the share's size), and cleanup drops those whose
-- upload is gone. A share's holds go with it.
CREATE TABLE IF NOT EXISTS quota_holds (
    id         BIGINT         NOT NULL AUTO_INCREMENT,
    owner_name VARBINARY(64)  NOT NULL,
    share_id   VARBINARY(36)  NOT NULL,
    dzuuid     VARBINARY(255) NULL,
    bytes      BIGINT         NOT NULL DEFAULT 0,
    created_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (id),
    KEY quota_holds_owner (owner_name),           -- Reserve's sum
    KEY quota_holds_upload (share_id, dzuuid),    -- ReleaseHolds
    CONSTRAINT quota_holds_share_fk FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
