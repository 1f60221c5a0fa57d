-- A counter that every insert and delete of a share bumps in its own
-- transaction (one row, id 1, written by upsert; absent means 0). The list
-- cache (listcache.go) reads it with its snapshot and, when the snapshot
-- expires, again: unchanged, no share came or went in any process, and the
-- snapshot's total and anchors still hold, without the O(shares) re-read
-- (issue 14: at 10⁶ shares that read took longer than the cache TTL).
CREATE TABLE IF NOT EXISTS share_list_version (
    id      TINYINT NOT NULL,
    version BIGINT  NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
