-- When the share stops serving (NULL: never). After it the share reads as
-- missing, and cleanup purges the row and its content.
ALTER TABLE shares ADD COLUMN expires_at DATETIME(6) NULL
