-- Server settings: at most one row (id 1), created by the first write;
-- readers treat its absence as the defaults.
CREATE TABLE IF NOT EXISTS settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    default_permissions INTEGER NOT NULL DEFAULT 0
) STRICT;
