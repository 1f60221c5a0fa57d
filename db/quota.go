package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// Quotas. A user's usage is the size of the content of the shares they
// own; uploads in progress reserve bytes against it as they stream (quota
// holds, one row per chunk request), so that two concurrent uploads cannot
// both squeeze past the quota: Reserve judges usage plus every hold under a
// lock on the owner's row. Anonymous users' shares have no quota.

// DefaultQuota returns the default_quota setting: the quota in bytes of
// users with none of their own, 0 for unlimited (also when never set).
func (s *Store) DefaultQuota(ctx context.Context) (int64, error) {
	var q int64
	err := s.r.GetContext(ctx, &q, `SELECT default_quota FROM settings WHERE id = 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fail(err, "default quota")
	}
	return q, nil
}

// SetDefaultQuota sets the default_quota setting (bytes, 0: unlimited).
func (s *Store) SetDefaultQuota(ctx context.Context, q int64) error {
	if q < 0 {
		return domain.Errorf(domain.Invalid, "default_quota must not be negative")
	}
	stmt := `INSERT INTO settings (id, default_quota) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET default_quota = excluded.default_quota`
	args := []any{q}
	if s.dialect == DialectMySQL {
		stmt = `INSERT INTO settings (id, default_quota) VALUES (1, ?)
			ON DUPLICATE KEY UPDATE default_quota = ?`
		args = append(args, q)
	}
	return s.inTx(ctx, "set default quota", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, stmt, args...)
		return err
	})
}

// Usage is the bytes of content of the shares owner owns.
func (s *Store) Usage(ctx context.Context, owner string) (int64, error) {
	var n int64
	if err := s.r.GetContext(ctx, &n, `SELECT COALESCE(SUM(size), 0) FROM shares WHERE owner_name = ?`, owner); err != nil {
		return 0, fail(err, "usage")
	}
	return n, nil
}

// QuotaOf is owner's effective quota in bytes: their own, else the
// default; 0 means unlimited, and so does an owner that does not exist.
func (s *Store) QuotaOf(ctx context.Context, owner string) (int64, error) {
	// quotaOf's two reads in one round trip (it is asked for every chunk
	// of an owned share); the locking reads stay quotaOf's.
	var q int64
	err := s.r.GetContext(ctx, &q, `SELECT COALESCE(quota, (SELECT default_quota FROM settings WHERE id = 1), 0) FROM users WHERE username = ?`, owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return q, err
}

type getter interface {
	GetContext(ctx context.Context, dest any, q string, args ...any) error
}

// quotaOf reads the effective quota; lock is appended to the user read
// (" FOR UPDATE" to serialise reservations on the owner's row).
func (s *Store) quotaOf(ctx context.Context, g getter, owner, lock string) (int64, error) {
	var q sql.NullInt64
	err := g.GetContext(ctx, &q, `SELECT quota FROM users WHERE username = ?`+lock, owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if q.Valid {
		return q.Int64, nil
	}
	var d int64
	err = g.GetContext(ctx, &d, `SELECT default_quota FROM settings WHERE id = 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return d, err
}

func quotaExceeded(owner string, quota, used, want int64) error {
	return domain.Errorf(domain.TooLarge,
		"upload refused: it would pass the storage quota of user %q, %d bytes (%s): %d bytes are used or reserved by uploads in progress, and this upload needs %d more",
		owner, quota, humanBytes(quota), used, want)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// committed is owner's usage plus their holds, except those of the upload
// (shareID, dzuuid) when dzuuid is not "".
func (s *Store) committed(ctx context.Context, g getter, owner, shareID, dzuuid string) (int64, error) {
	var used, held int64
	if err := g.GetContext(ctx, &used, `SELECT COALESCE(SUM(size), 0) FROM shares WHERE owner_name = ?`, owner); err != nil {
		return 0, err
	}
	q, args := `SELECT COALESCE(SUM(bytes), 0) FROM quota_holds WHERE owner_name = ?`, []any{owner}
	if dzuuid != "" {
		q += ` AND NOT (share_id = ? AND dzuuid IS NOT NULL AND dzuuid = ?)`
		args = append(args, shareID, []byte(dzuuid))
	}
	if err := g.GetContext(ctx, &held, q, args...); err != nil {
		return 0, err
	}
	return used + held, nil
}

// CheckQuota judges a whole file of declared bytes (dztotalfilesize) up
// front: TooLarge, naming the limit, when owner's usage and the holds of
// their other uploads leave no room for it under their quota, or (request
// not "") the upload request's shares and holds leave none under its
// max_bytes. It reserves nothing.
func (s *Store) CheckQuota(ctx context.Context, owner, request, shareID, dzuuid string, declared int64) error {
	quota, err := s.QuotaOf(ctx, owner)
	if err != nil {
		return err
	}
	if quota > 0 {
		used, err := s.committed(ctx, s.r, owner, shareID, dzuuid)
		if err != nil {
			return fail(err, "check quota")
		}
		if used+declared > quota {
			return quotaExceeded(owner, quota, used, declared)
		}
	}
	if request == "" {
		return nil
	}
	max, used, err := s.requestCommitted(ctx, s.r, request, shareID, dzuuid, "")
	if err != nil {
		return fail(err, "check request bytes")
	}
	if max > 0 && used+declared > max {
		return requestExceeded(max, used, declared)
	}
	return nil
}

func requestExceeded(max, used, want int64) error {
	return domain.Errorf(domain.TooLarge,
		"upload refused: it would pass this upload request's max_bytes of %d bytes (%s): %d bytes are uploaded or reserved, and this upload needs %d more",
		max, humanBytes(max), used, want)
}

// requestCommitted is upload request's max_bytes (0: none) and the bytes
// of its shares plus their holds, except those of the upload (shareID,
// dzuuid) when dzuuid is not "". lock is appended to the request's read.
func (s *Store) requestCommitted(ctx context.Context, g getter, request, shareID, dzuuid, lock string) (max, used int64, err error) {
	var m sql.NullInt64
	if err := g.GetContext(ctx, &m, `SELECT max_bytes FROM upload_requests WHERE id = ?`+lock, request); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, nil
		}
		return 0, 0, err
	}
	if !m.Valid {
		return 0, 0, nil
	}
	var size, held int64
	if err := g.GetContext(ctx, &size, `SELECT COALESCE(SUM(s.size), 0) FROM upload_request_shares rs
		JOIN shares s ON s.share_id = rs.share_id WHERE rs.request_id = ?`, request); err != nil {
		return 0, 0, err
	}
	q, args := `SELECT COALESCE(SUM(h.bytes), 0) FROM upload_request_shares rs
		JOIN quota_holds h ON h.share_id = rs.share_id WHERE rs.request_id = ?`, []any{request}
	if dzuuid != "" {
		q += ` AND NOT (h.share_id = ? AND h.dzuuid IS NOT NULL AND h.dzuuid = ?)`
		args = append(args, shareID, []byte(dzuuid))
	}
	if err := g.GetContext(ctx, &held, q, args...); err != nil {
		return 0, 0, err
	}
	return m.Int64, size + held, nil
}

// Reserve adds n bytes to hold id, or with id 0 records a new hold of n
// bytes for a chunk request to share shareID (owned by owner), and returns
// the hold's id; unless owner's usage and holds would then pass their
// quota, or (request not "") the upload request's shares and holds its
// max_bytes: TooLarge, naming the limit, and nothing is recorded.
// Reservations are serialised on the owner's user row (then the request's
// row), so concurrent uploads are judged one after the other against each
// other's holds. One transaction either way: a chunk costs one write to
// start its hold, not two.
func (s *Store) Reserve(ctx context.Context, id int64, owner, request, shareID string, n int64) (int64, error) {
	err := s.inTx(ctx, "reserve quota", func(tx *sqlx.Tx) error {
		if s.dialect == DialectMySQL {
			// Locks in the order checkOpenUploads takes them, the share's
			// (which the hold's foreign key check takes anyway) before the
			// owner's, so the two never wait on each other in a cycle.
			var one int
			if err := tx.GetContext(ctx, &one, `SELECT 1 FROM shares WHERE share_id = ? LOCK IN SHARE MODE`, shareID); err != nil {
				return notFound(err, "reserve quota", "share %s not found", shareID)
			}
		}
		quota, err := s.quotaOf(ctx, tx, owner, s.forUpdate)
		if err != nil {
			return err
		}
		if quota > 0 {
			used, err := s.committed(ctx, tx, owner, "", "")
			if err != nil {
				return err
			}
			if used+n > quota {
				return quotaExceeded(owner, quota, used, n)
			}
		}
		if request != "" {
			max, used, err := s.requestCommitted(ctx, tx, request, "", "", s.forUpdate)
			if err != nil {
				return err
			}
			if max > 0 && used+n > max {
				return requestExceeded(max, used, n)
			}
		}
		if id != 0 {
			_, err = tx.ExecContext(ctx, `UPDATE quota_holds SET bytes = bytes + ? WHERE id = ?`, n, id)
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO quota_holds (owner_name, share_id, bytes, created_at) VALUES (?, ?, ?, ?)`,
			owner, shareID, n, ts(s.now()))
		if classify(err) == classForeignKey {
			return shareNotFound(shareID)
		}
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// dzuuids are bound as bytes, as in uploads (see GetOrCreateUpload).

// AttachHold ties hold id to the upload dzuuid its chunk was recorded in,
// so that it lasts as long as the upload.
func (s *Store) AttachHold(ctx context.Context, id int64, dzuuid string) error {
	return s.inTx(ctx, "attach quota hold", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE quota_holds SET dzuuid = ? WHERE id = ?`, []byte(dzuuid), id)
		return err
	})
}

// DropHold deletes hold id: its chunk was refused.
func (s *Store) DropHold(ctx context.Context, id int64) error {
	return s.inTx(ctx, "drop quota hold", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM quota_holds WHERE id = ?`, id)
		return err
	})
}

// ReleaseHolds deletes the holds of the upload (shareID, dzuuid): it
// completed, and its content counts as the share's size now.
func (s *Store) ReleaseHolds(ctx context.Context, shareID, dzuuid string) error {
	return s.inTx(ctx, "release quota holds", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM quota_holds WHERE share_id = ? AND dzuuid = ?`, shareID, []byte(dzuuid))
		return err
	})
}

// PurgeHolds is cleanup's part for quotas: it deletes holds whose upload
// is gone (aborted, cleaned up, or completed by a request that failed to
// release them), and holds of requests that never finished (a crash)
// created before staleBefore.
func (s *Store) PurgeHolds(ctx context.Context, staleBefore time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, "purge quota holds", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM quota_holds WHERE
			(dzuuid IS NULL AND created_at < ?) OR (dzuuid IS NOT NULL AND NOT EXISTS (
				SELECT 1 FROM uploads u WHERE u.share_id = quota_holds.share_id AND u.dzuuid = quota_holds.dzuuid))`, ts(staleBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
