package db

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

type uploadRequestRow struct {
	ID        string         `db:"id"`
	Owner     string         `db:"owner_name"`
	Label     sql.NullString `db:"label"`
	MaxFiles  sql.NullInt64  `db:"max_files"`
	MaxBytes  sql.NullInt64  `db:"max_bytes"`
	ExpiresAt nullTimestamp  `db:"expires_at"`
	FilesUsed int            `db:"files_used"`
	BytesUsed int64          `db:"bytes_used"`
	CreatedAt timestamp      `db:"created_at"`
	RevokedAt nullTimestamp  `db:"revoked_at"`
}

// uploadRequestSelect reads requests with the bytes of their shares.
const uploadRequestSelect = `SELECT r.id, r.owner_name, r.label, r.max_files, r.max_bytes, r.expires_at,
	r.files_used, r.created_at, r.revoked_at,
	(SELECT COALESCE(SUM(s.size), 0) FROM upload_request_shares rs JOIN shares s ON s.share_id = rs.share_id
		WHERE rs.request_id = r.id) AS bytes_used
	FROM upload_requests r`

func (r uploadRequestRow) domain() *domain.UploadRequest {
	out := &domain.UploadRequest{
		ID: r.ID, Owner: r.Owner, Label: nullStringPtr(r.Label), MaxBytes: nullInt64Ptr(r.MaxBytes),
		ExpiresAt: r.ExpiresAt.ptr(), FilesUsed: r.FilesUsed, BytesUsed: r.BytesUsed,
		CreatedAt: r.CreatedAt.Time, RevokedAt: r.RevokedAt.ptr(),
	}
	if r.MaxFiles.Valid {
		n := int(r.MaxFiles.Int64)
		out.MaxFiles = &n
	}
	return out
}

func noUploadRequest() error {
	return domain.Errorf(domain.NotFound, "No such upload request.")
}

// CreateUploadRequest stores r (the caller picks r.ID) with the hash of its
// token, setting r.CreatedAt. An owner that is not a user is Invalid.
func (s *Store) CreateUploadRequest(ctx context.Context, r *domain.UploadRequest, tokenHash string) error {
	now := utc(s.now())
	var exp any
	if r.ExpiresAt != nil {
		exp = ts(*r.ExpiresAt)
	}
	err := s.inTx(ctx, "create upload request", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO upload_requests
			(id, token_hash, owner_name, label, max_files, max_bytes, expires_at, files_used, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			r.ID, tokenHash, r.Owner, nullable(r.Label), nullable(r.MaxFiles), nullable(r.MaxBytes), exp, ts(now))
		switch classify(err) {
		case classForeignKey:
			return domain.Errorf(domain.Invalid, "no such user %q", r.Owner)
		case classUnique:
			return domain.Errorf(domain.Conflict, "upload request %s already exists", r.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	r.CreatedAt = now
	return nil
}

// UploadRequests lists owner's upload requests, newest first.
func (s *Store) UploadRequests(ctx context.Context, owner string) ([]domain.UploadRequest, error) {
	var rows []uploadRequestRow
	if err := s.r.SelectContext(ctx, &rows, uploadRequestSelect+` WHERE r.owner_name = ? ORDER BY r.created_at DESC, r.id`, owner); err != nil {
		return nil, fail(err, "list upload requests")
	}
	out := make([]domain.UploadRequest, len(rows))
	for i, r := range rows {
		out[i] = *r.domain()
	}
	return out, nil
}

// UploadRequestByID returns the request, or NotFound.
func (s *Store) UploadRequestByID(ctx context.Context, id string) (*domain.UploadRequest, error) {
	var r uploadRequestRow
	if err := s.r.GetContext(ctx, &r, uploadRequestSelect+` WHERE r.id = ?`, id); err != nil {
		return nil, notFound(err, "upload request", "No such upload request.")
	}
	return r.domain(), nil
}

// UploadRequestByToken returns the request whose token has this hash, or
// NotFound. Whether it still serves is the caller's to judge.
func (s *Store) UploadRequestByToken(ctx context.Context, tokenHash string) (*domain.UploadRequest, error) {
	var r uploadRequestRow
	if err := s.r.GetContext(ctx, &r, uploadRequestSelect+` WHERE r.token_hash = ?`, tokenHash); err != nil {
		return nil, notFound(err, "upload request", "No such upload request.")
	}
	return r.domain(), nil
}

// RevokeUploadRequest ends the request's link; NotFound if there is none.
// Revoking it again is not an error.
func (s *Store) RevokeUploadRequest(ctx context.Context, id string) error {
	return s.inTx(ctx, "revoke upload request", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE upload_requests SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ts(s.now()), id)
		if err != nil {
			return err
		}
		return mustAffect(res, noUploadRequest())
	})
}

// CreateRequestShare creates sh (owned by the request's creator) through
// request id, counting it toward max_files, in one transaction under a
// lock on the request row: concurrent creates cannot pass max_files. Gone
// if the request no longer serves; NotFound if it does not exist.
func (s *Store) CreateRequestShare(ctx context.Context, id string, sh *domain.Share) error {
	if err := checkLen("file_name", sh.FileName, 1, maxName); err != nil {
		return err
	}
	now := utc(s.now())
	err := s.inTx(ctx, "create request share", func(tx *sqlx.Tx) error {
		var r uploadRequestRow
		if err := tx.GetContext(ctx, &r, `SELECT id, owner_name, label, max_files, max_bytes, expires_at, files_used, created_at, revoked_at,
			0 AS bytes_used FROM upload_requests WHERE id = ?`+s.forUpdate, id); err != nil {
			return notFound(err, "create request share", "No such upload request.")
		}
		req := r.domain()
		if err := tx.GetContext(ctx, &req.BytesUsed, `SELECT COALESCE(SUM(s.size), 0) FROM upload_request_shares rs
			JOIN shares s ON s.share_id = rs.share_id WHERE rs.request_id = ?`, id); err != nil {
			return err
		}
		if err := req.Gone(now, true); err != nil {
			return err
		}
		owner := req.Owner
		sh.Owner = &owner
		if _, err := tx.ExecContext(ctx, `INSERT INTO shares (`+shareColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL)`,
			sh.ID, sh.FileName, owner, false, false, ts(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO upload_request_shares (share_id, request_id) VALUES (?, ?)`, sh.ID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE upload_requests SET files_used = files_used + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		_, err := s.bumpListVersion(ctx, tx) // a new share: other processes' list caches must see it
		return err
	})
	s.listChanged(true)
	if err != nil {
		return err
	}
	sh.CreateDate = now
	return nil
}

// RequestOfShare returns the id of the upload request share shareID was
// created through, "" if none.
func (s *Store) RequestOfShare(ctx context.Context, shareID string) (string, error) {
	var id string
	err := s.r.GetContext(ctx, &id, `SELECT request_id FROM upload_request_shares WHERE share_id = ?`, shareID)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fail(err, "request of share")
	}
	return id, nil
}
