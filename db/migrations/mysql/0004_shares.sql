CREATE TABLE IF NOT EXISTS shares (
    share_id    VARBINARY(36)  NOT NULL,
    file_name   VARCHAR(255)   NOT NULL,
    owner_name  VARBINARY(64)  NULL, -- NULL: anonymous users own the share
    initialized BOOLEAN        NOT NULL DEFAULT FALSE,
    locked      BOOLEAN        NOT NULL DEFAULT FALSE,
    create_date DATETIME(6)    NOT NULL,
    size        BIGINT         NULL,
    sha256      CHAR(64) CHARACTER SET ascii NULL,
    blob_id     VARBINARY(255) NULL, -- storage name of the current content
    modified_at DATETIME(6)    NULL,
    PRIMARY KEY (share_id),
    KEY shares_create_date (create_date, share_id), -- ListShares' order, DeleteStale
    KEY shares_owner_name (owner_name),             -- DeleteUser's count
    KEY shares_blob_id (blob_id),                   -- FileReferenced
    -- No ON DELETE action: a user who still owns shares cannot be deleted.
    CONSTRAINT shares_owner_name_fk FOREIGN KEY (owner_name) REFERENCES users (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
