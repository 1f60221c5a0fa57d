-- The SHA-256 (lowercase hex) the client says the whole file has
-- (dzfilesha256, sent with any chunk), checked when the upload completes.
-- NULL: none was sent.
ALTER TABLE uploads ADD COLUMN file_sha256 VARBINARY(64) NULL
