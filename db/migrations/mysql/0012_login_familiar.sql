-- Where each username recently signed in (client address, an IPv6 client's
-- /64): from such an address the user is exempt from the throttle's
-- per-username and per-address budgets. Keyed by name, not account id,
-- because the throttle decides before the account is looked up.
CREATE TABLE IF NOT EXISTS login_familiar (
    username  VARBINARY(64)  NOT NULL,
    addr      VARBINARY(64)  NOT NULL,
    last_seen DATETIME(6)    NOT NULL,
    PRIMARY KEY (username, addr),
    KEY login_familiar_last_seen (last_seen) -- PurgeLogins
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
