-- Received chunks of an upload, each stored as the file file_id.
CREATE TABLE IF NOT EXISTS chunks (
    upload_id INTEGER NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    file_id   TEXT    NOT NULL,
    size      INTEGER NOT NULL,
    PRIMARY KEY (upload_id, idx)
) STRICT, WITHOUT ROWID;

-- FileReferenced.
CREATE INDEX IF NOT EXISTS chunks_file_id ON chunks (file_id);
