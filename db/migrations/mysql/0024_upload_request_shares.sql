-- The shares created through each upload request: the only ones its link
-- may upload into. They go with the share (or the request).
CREATE TABLE IF NOT EXISTS upload_request_shares (
    share_id   VARBINARY(36) NOT NULL,
    request_id VARBINARY(32) NOT NULL,
    PRIMARY KEY (share_id),
    KEY upload_request_shares_request (request_id),
    CONSTRAINT upload_request_shares_share_fk FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE,
    CONSTRAINT upload_request_shares_request_fk FOREIGN KEY (request_id) REFERENCES upload_requests (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
