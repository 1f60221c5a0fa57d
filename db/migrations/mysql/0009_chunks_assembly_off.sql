-- Where a chunk appended to its upload's assembly file starts in it
-- (file_id is then the assembly's id); NULL for a chunk in a file of its own.
ALTER TABLE chunks ADD COLUMN assembly_off BIGINT NULL
