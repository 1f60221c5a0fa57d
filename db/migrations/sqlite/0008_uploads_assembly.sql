-- Chunks that arrive in order are appended to one assembly file per upload,
-- so that they are written once. assembly_id names the file (chosen by the
-- server, never by the client); assembled_len counts its durable bytes:
-- anything past them is left over from an interrupted append. next_index is
-- the chunk index the file expects next. append_by/append_at is the append
-- lease: the Store (instance token) appending now, so that one request at a
-- time writes the file; a lease whose holder is gone is abandoned, like a
-- completion claim.
ALTER TABLE uploads ADD COLUMN assembly_id TEXT;
ALTER TABLE uploads ADD COLUMN assembled_len INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN next_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN append_by TEXT;
ALTER TABLE uploads ADD COLUMN append_at TEXT;

-- FileReferenced.
CREATE INDEX IF NOT EXISTS uploads_assembly_id ON uploads (assembly_id);
