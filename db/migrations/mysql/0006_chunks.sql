-- Received chunks of an upload, each stored as the file file_id.
CREATE TABLE IF NOT EXISTS chunks (
    upload_id BIGINT         NOT NULL,
    idx       INT            NOT NULL,
    file_id   VARBINARY(255) NOT NULL,
    size      BIGINT         NOT NULL,
    PRIMARY KEY (upload_id, idx),
    KEY chunks_file_id (file_id), -- FileReferenced
    CONSTRAINT chunks_upload_id_fk FOREIGN KEY (upload_id) REFERENCES uploads (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
