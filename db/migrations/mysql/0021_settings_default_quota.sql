-- The quota of users who have none of their own, in bytes; 0: unlimited.
ALTER TABLE settings ADD COLUMN default_quota BIGINT NOT NULL DEFAULT 0
