package db

import (
	"context"
	"database/sql"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

type shareRow struct {
	ID          string         `db:"share_id"`
	FileName    string         `db:"file_name"`
	Owner       sql.NullString `db:"owner_name"`
	Initialized bool           `db:"initialized"`
	Locked      bool           `db:"locked"`
	CreateDate  timestamp      `db:"create_date"`
	Size        sql.NullInt64  `db:"size"`
	SHA256      sql.NullString `db:"sha256"`
	BlobID      sql.NullString `db:"blob_id"`
	ModifiedAt  nullTimestamp  `db:"modified_at"`
	ExpiresAt   nullTimestamp  `db:"expires_at"`
}

const shareColumns = `share_id, file_name, owner_name, initialized, locked, create_date, size, sha256, blob_id, modified_at, expires_at`

// qualified prefixes each column of a column list with a table alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func (r shareRow) domain() *domain.Share {
	return &domain.Share{
		ID:          r.ID,
		FileName:    r.FileName,
		Owner:       nullStringPtr(r.Owner),
		Initialized: r.Initialized,
		Locked:      r.Locked,
		CreateDate:  r.CreateDate.Time,
		Size:        nullInt64Ptr(r.Size),
		SHA256:      nullStringPtr(r.SHA256),
		BlobID:      nullStringPtr(r.BlobID),
		ModifiedAt:  r.ModifiedAt.ptr(),
		ExpiresAt:   r.ExpiresAt.ptr(),
	}
}

func nullStringPtr(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	return &n.String
}

func nullInt64Ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// nullable binds p as NULL when it is nil.
func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func noSuchOwner(owner *string) error {
	return domain.Errorf(domain.Invalid, "owner_name: no such user %q", *owner)
}

func shareNotFound(id string) error { return domain.Errorf(domain.NotFound, "share %s not found", id) }
func shareLocked(id string) error   { return domain.Errorf(domain.Locked, "share %s is locked", id) }

func checkOwner(owner *string) error {
	if owner == nil {
		return nil
	}
	if len(*owner) > maxUsername {
		return noSuchOwner(owner) // could not have been registered
	}
	return nil
}

// CreateShare stores sh, setting sh.CreateDate (now, UTC, microseconds).
// The caller chooses sh.ID (a fresh UUIDv4) and validates the file name.
// An Owner that is not an existing user is Invalid; a duplicate ID is
// Conflict.
func (s *Store) CreateShare(ctx context.Context, sh *domain.Share) error {
	if err := checkLen("share_id", sh.ID, 1, 36); err != nil {
		return err
	}
	if err := checkLen("file_name", sh.FileName, 1, maxName); err != nil {
		return err
	}
	if err := checkOwner(sh.Owner); err != nil {
		return err
	}
	now := utc(s.now())
	var modified, expires any
	if sh.ModifiedAt != nil {
		modified = ts(*sh.ModifiedAt)
	}
	if sh.ExpiresAt != nil {
		expires = ts(*sh.ExpiresAt)
		s.expiryWritten()
	}
	epoch := s.listEpoch()
	var version int64
	err := s.inTx(ctx, "create share", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shares (`+shareColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sh.ID, sh.FileName, nullable(sh.Owner), sh.Initialized, sh.Locked, ts(now),
			nullable(sh.Size), nullable(sh.SHA256), nullable(sh.BlobID), modified, expires)
		switch classify(err) {
		case classUnique:
			return domain.Errorf(domain.Conflict, "share %s already exists", sh.ID)
		case classForeignKey:
			return noSuchOwner(sh.Owner)
		}
		if err != nil {
			return err
		}
		version, err = s.bumpListVersion(ctx, tx)
		return err
	})
	if err != nil {
		s.listChanged(true)
		return err
	}
	s.listAppended(listKey{date: ts(now), id: sh.ID}, epoch, version)
	sh.CreateDate = now
	return nil
}

// ShareByID returns the share, or NotFound. It is on the path of nearly
// every request, hence the prepared statement.
func (s *Store) ShareByID(ctx context.Context, id string) (*domain.Share, error) {
	r, err := cachedRead(s, s.cache.shares, id, func() (shareRow, error) {
		var r shareRow
		err := s.getHot(ctx, &r, `SELECT `+shareColumns+` FROM shares WHERE share_id = ?`, id)
		return r, err
	})
	if err != nil {
		return nil, notFound(err, "share by id", "share %s not found", id)
	}
	// Judged on every read, cached row or not, so a share stops serving
	// at its expiry to the microsecond, before the purge removes it.
	if s.expired(r.ExpiresAt) {
		return nil, shareNotFound(id)
	}
	return r.domain(), nil
}

// ForgetShare drops the share's cached row, for a caller that found it out
// of date: it named a blob that another process has since replaced.
func (s *Store) ForgetShare(id string) { s.cache.shares.forget(id) }

// UpdateShareMeta sets the share's file name and owner (nil: anonymous
// users), both unconditionally; see UpdateShare.
func (s *Store) UpdateShareMeta(ctx context.Context, id, fileName string, owner *string) error {
	return s.UpdateShare(ctx, id, domain.ShareUpdate{FileName: &fileName, SetOwner: true, Owner: owner})
}

// UpdateShare applies ch to the share in one statement that writes only the
// columns ch sets, so a rename racing an ownership transfer can't write the
// old owner back. NotFound if the share does not exist; Forbidden if
// ch.CheckOwner and the share's owner is no longer ch.WasOwner; Locked if
// it is locked (all judged by the update itself, so a concurrent lock or
// transfer can't be missed); Invalid if the new owner names no user. The
// caller checks ownership first. A change that sets nothing only checks.
func (s *Store) UpdateShare(ctx context.Context, id string, ch domain.ShareUpdate) error {
	var sets []string
	var args []any
	if ch.FileName != nil {
		if err := checkLen("file_name", *ch.FileName, 1, maxName); err != nil {
			return err
		}
		sets, args = append(sets, "file_name = ?"), append(args, *ch.FileName)
	}
	if ch.SetOwner {
		if err := checkOwner(ch.Owner); err != nil {
			return err
		}
		sets, args = append(sets, "owner_name = ?"), append(args, nullable(ch.Owner))
	}
	if ch.SetExpiry {
		var exp any
		if ch.ExpiresAt != nil {
			exp = ts(*ch.ExpiresAt)
			s.expiryWritten()
		}
		sets, args = append(sets, "expires_at = ?"), append(args, exp)
	}
	if len(sets) == 0 {
		// Nothing to write, but the same answers as a write would get.
		sh, err := s.ShareByID(ctx, id)
		if err != nil {
			return err
		}
		return shareUpdatable(id, ch, sh.Owner, sh.Locked)
	}
	// An expired share is missing, also to a write racing its expiry.
	now := ts(s.now())
	where := ` WHERE share_id = ? AND locked = ? AND (expires_at IS NULL OR expires_at > ?)`
	args = append(args, id, false, now)
	if ch.CheckOwner {
		// Null-safe equality both dialects understand.
		where += ` AND (owner_name = ? OR (owner_name IS NULL AND ? IS NULL))`
		args = append(args, nullable(ch.WasOwner), nullable(ch.WasOwner))
	}
	defer s.cache.shares.forget(id)
	defer s.listChanged(false)
	return s.inTx(ctx, "update share", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE shares SET `+strings.Join(sets, ", ")+where, args...)
		if classify(err) == classForeignKey {
			return noSuchOwner(ch.Owner)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		// Nothing matched: missing, transferred or locked?
		var r struct {
			Owner  sql.NullString `db:"owner_name"`
			Locked bool           `db:"locked"`
		}
		if err := tx.GetContext(ctx, &r, `SELECT owner_name, locked FROM shares
			WHERE share_id = ? AND (expires_at IS NULL OR expires_at > ?)`, id, now); err != nil {
			return notFound(err, "update share", "share %s not found", id)
		}
		return shareUpdatable(id, ch, nullStringPtr(r.Owner), r.Locked)
	})
}

// shareUpdatable judges ch against a share's current owner and lock, in
// the contract's order: ownership, then the lock.
func shareUpdatable(id string, ch domain.ShareUpdate, owner *string, locked bool) error {
	if ch.CheckOwner && !sameOwner(owner, ch.WasOwner) {
		return domain.Errorf(domain.Forbidden, "share %s has changed owner", id)
	}
	if locked {
		return shareLocked(id)
	}
	return nil
}

func sameOwner(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// SetLocked locks or unlocks the share; NotFound if it does not exist.
// Setting the state it already has is not an error.
func (s *Store) SetLocked(ctx context.Context, id string, locked bool) error {
	defer s.cache.shares.forget(id)
	defer s.listChanged(false)
	return s.inTx(ctx, "set locked", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE shares SET locked = ? WHERE share_id = ?`, locked, id)
		if err != nil {
			return err
		}
		return mustAffect(res, shareNotFound(id))
	})
}

// DeleteShare deletes the share with its unfinished uploads and their
// chunks, in one transaction. NotFound if it does not exist, Locked if it
// is locked. It returns the storage names the caller must then remove: the
// share's blob and every chunk file. Deleting files only after the commit
// means a crash leaves orphan files (harmless, see FileReferenced), never
// rows that point at missing files.
func (s *Store) DeleteShare(ctx context.Context, id string) (files []string, err error) {
	defer s.cache.shares.forget(id)
	err = s.inTx(ctx, "delete share", func(tx *sqlx.Tx) error {
		files, err = s.deleteShareTx(ctx, tx, id, false)
		return err
	})
	s.listChanged(true)
	if err != nil {
		return nil, err
	}
	return files, nil
}

// deleteShareTx deletes share id and everything hanging off it; force
// ignores the lock (cleanup). Lock order, as everywhere: share, uploads,
// chunks. Its callers, once the transaction commits, forget the share and
// call listChanged(true).
func (s *Store) deleteShareTx(ctx context.Context, tx *sqlx.Tx, id string, force bool) ([]string, error) {
	var r struct {
		Locked    bool           `db:"locked"`
		BlobID    sql.NullString `db:"blob_id"`
		ExpiresAt nullTimestamp  `db:"expires_at"`
	}
	if err := tx.GetContext(ctx, &r, `SELECT locked, blob_id, expires_at FROM shares WHERE share_id = ?`+s.forUpdate, id); err != nil {
		return nil, notFound(err, "delete share", "share %s not found", id)
	}
	if !force && s.expired(r.ExpiresAt) {
		return nil, shareNotFound(id) // missing to clients; the purge's to delete
	}
	if r.Locked && !force {
		return nil, shareLocked(id)
	}
	// Locking the uploads makes a concurrent PutChunk either finish first
	// (its chunk is then listed below) or fail afterwards.
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM uploads WHERE share_id = ?`+s.forUpdate, id); err != nil {
		return nil, err
	}
	var files []string
	if r.BlobID.Valid {
		files = append(files, r.BlobID.String)
	}
	for _, uid := range ids {
		f, err := s.deleteUploadRows(ctx, tx, uid)
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM shares WHERE share_id = ?`, id); err != nil {
		return nil, err
	}
	if _, err := s.bumpListVersion(ctx, tx); err != nil {
		return nil, err
	}
	return files, nil
}

// ListShares returns one page of shares ordered by creation time, then id
// (a stable order, served by an index), and the total number of shares,
// both from one snapshot. limit and offset must not be negative (Invalid).
// With the Store's cache TTL (SetCacheTTL) above 0 both come from the list cache (listcache.go):
// this process's own writes show at once, other processes' within the TTL.
func (s *Store) ListShares(ctx context.Context, limit, offset int) ([]domain.Share, int, error) {
	if err := checkPage(limit, offset); err != nil {
		return nil, 0, err
	}
	// The cache knows nothing of expiry: while any share carries one
	// (expired ones until the purge), lists are read fresh, filtered at
	// the current time, so a share leaves them exactly at its expiry.
	expiring, err := s.anyExpiry(ctx)
	if err != nil {
		return nil, 0, err
	}
	if ttl := s.cache.ttl; ttl > 0 && !expiring {
		return s.listSharesCached(ctx, limit, offset, ttl)
	}
	if expiring {
		return s.listSharesUnexpired(ctx, limit, offset)
	}
	return s.listSharesUncached(ctx, limit, offset)
}

// listSharesUncached is ListShares without the cache (listcache.go).
func (s *Store) listSharesUncached(ctx context.Context, limit, offset int) ([]domain.Share, int, error) {
	// One statement, so the count and the page come from one snapshot
	// without a transaction, and prepared once. Deferred join: the page's
	// ids come from the (create_date, share_id) index alone, so skipping
	// `offset` rows reads no table rows and sorts nothing. The count is a
	// derived table, computed once (MariaDB runs a scalar subquery in the
	// select list for every row).
	var rows []struct {
		Total int `db:"total"`
		shareRow
	}
	err := s.selectHot(ctx, &rows, `SELECT c.total, `+qualified("s", shareColumns)+`
		FROM (SELECT COUNT(*) AS total FROM shares) c CROSS JOIN shares s JOIN (
			SELECT share_id FROM shares ORDER BY create_date, share_id LIMIT ? OFFSET ?
		) p ON p.share_id = s.share_id ORDER BY s.create_date, s.share_id`, limit, offset)
	if err != nil {
		return nil, 0, fail(err, "list shares")
	}
	if len(rows) == 0 { // past the end: the count alone
		var total int
		if err := s.getHot(ctx, &total, `SELECT COUNT(*) FROM shares`); err != nil {
			return nil, 0, fail(err, "count shares")
		}
		return []domain.Share{}, total, nil
	}
	shares := make([]domain.Share, len(rows))
	for i, r := range rows {
		shares[i] = *r.domain()
	}
	return shares, rows[0].Total, nil
}
