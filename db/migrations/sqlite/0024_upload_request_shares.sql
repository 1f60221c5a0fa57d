-- The shares created through each upload request: the only ones its link
-- may upload into. They go with the share (or the request).
CREATE TABLE IF NOT EXISTS upload_request_shares (
    share_id   TEXT NOT NULL PRIMARY KEY REFERENCES shares (share_id) ON DELETE CASCADE,
    request_id TEXT NOT NULL REFERENCES upload_requests (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX IF NOT EXISTS upload_request_shares_request ON upload_request_shares (request_id);
