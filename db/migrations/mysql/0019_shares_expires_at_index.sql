-- The purge's range scan, and ListShares' "does any share expire" probe.
CREATE INDEX shares_expires_at ON shares (expires_at)
