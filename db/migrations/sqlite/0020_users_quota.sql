-- A user's storage quota in bytes: NULL means the server's default_quota,
-- 0 means unlimited.
ALTER TABLE users ADD COLUMN quota INTEGER;
