-- assembly_id holds an upload's blob-store handle, up to 255 bytes (see the
-- MySQL migration). SQLite's TEXT has no length limit: nothing to change.
SELECT 1;
