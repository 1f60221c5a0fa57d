-- The SHA-256 state of the assembly file's first assembled_len bytes, saved
-- with each append (encoding.BinaryMarshaler of crypto/sha256), so that
-- completion need not read the file back to hash it. NULL: not known.
ALTER TABLE uploads ADD COLUMN hash_state VARBINARY(255) NULL
