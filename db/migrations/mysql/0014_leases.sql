-- Named leases on work that one process at a time should do (the periodic
-- cleanup): who holds each, and until when. A holder that dies simply
-- stops renewing, and another process takes the lease once it expires.
CREATE TABLE IF NOT EXISTS leases (
    name       VARBINARY(64)  NOT NULL,
    holder     VARBINARY(64)  NOT NULL,
    expires_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
