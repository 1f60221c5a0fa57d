-- Chunks that arrive in order are appended to one assembly file per upload,
-- so that they are written once. assembly_id names the file (chosen by the
-- server, never by the client); assembled_len counts its durable bytes:
-- anything past them is left over from an interrupted append. next_index is
-- the chunk index the file expects next. append_by/append_at is the append
-- lease: the Store (instance token) appending now, so that one request at a
-- time writes the file; a lease whose holder is gone (its named lock freed)
-- is abandoned, like a completion claim. One statement: DDL commits
-- implicitly, and a half-applied migration must be recognisable.
ALTER TABLE uploads
    ADD COLUMN assembly_id   VARBINARY(64) NULL,
    ADD COLUMN assembled_len BIGINT        NOT NULL DEFAULT 0,
    ADD COLUMN next_index    INT           NOT NULL DEFAULT 0,
    ADD COLUMN append_by     VARBINARY(64) NULL,
    ADD COLUMN append_at     DATETIME(6)   NULL,
    ADD KEY uploads_assembly_id (assembly_id) -- FileReferenced
