-- Named leases on work that one process at a time should do (the periodic
-- cleanup): who holds each, and until when. A holder that dies simply
-- stops renewing, and another process takes the lease once it expires.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
