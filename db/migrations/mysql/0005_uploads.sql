-- Unfinished chunked uploads, one per (share, dzuuid).
CREATE TABLE IF NOT EXISTS uploads (
    id           BIGINT         NOT NULL AUTO_INCREMENT,
    share_id     VARBINARY(36)  NOT NULL,
    dzuuid       VARBINARY(255) NOT NULL, -- client-chosen bytes, compared exactly
    total_chunks INT            NOT NULL,
    received     INT            NOT NULL DEFAULT 0, -- distinct chunk indexes stored
    created_at   DATETIME(6)    NOT NULL,
    updated_at   DATETIME(6)    NOT NULL, -- last chunk received: cleanup spares active uploads
    claimed_at   DATETIME(6)    NULL,     -- set while one request joins the chunks
    PRIMARY KEY (id),
    UNIQUE KEY uploads_share_dzuuid (share_id, dzuuid),
    KEY uploads_updated_at (updated_at), -- DeleteStale
    CONSTRAINT uploads_share_id_fk FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
