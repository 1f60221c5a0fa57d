-- The sign-in throttle's budgets, shared by every server process: one leaky
-- bucket per key (a username and client address, an address, a username),
-- kept as its "theoretical arrival time" (GCRA): the moment, in
-- microseconds since the Unix epoch, at which the bucket is empty again.
-- A row whose tat has passed is an empty bucket and may be deleted.
CREATE TABLE IF NOT EXISTS login_buckets (
    k   TEXT    NOT NULL PRIMARY KEY,
    tat INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- PurgeLogins.
CREATE INDEX IF NOT EXISTS login_buckets_tat ON login_buckets (tat);
