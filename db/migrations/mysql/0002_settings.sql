-- Server settings: at most one row (id 1), created by the first write;
-- readers treat its absence as the defaults.
CREATE TABLE IF NOT EXISTS settings (
    id                  TINYINT NOT NULL,
    default_permissions BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT settings_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
