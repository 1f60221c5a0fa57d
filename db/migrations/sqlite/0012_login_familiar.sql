-- Where each username recently signed in (client address, an IPv6 client's
-- /64): from such an address the user is exempt from the throttle's
-- per-username and per-address budgets. Keyed by name, not account id,
-- because the throttle decides before the account is looked up.
CREATE TABLE IF NOT EXISTS login_familiar (
    username  TEXT NOT NULL,
    addr      TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (username, addr)
) STRICT, WITHOUT ROWID;

-- PurgeLogins.
CREATE INDEX IF NOT EXISTS login_familiar_last_seen ON login_familiar (last_seen);
