-- The purge's range scan, and ListShares' "does any share expire" probe.
CREATE INDEX IF NOT EXISTS shares_expires_at ON shares (expires_at);
