package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// The methods in this file serve `sachet import`, which brings users and
// shares over from the Python Sachet. Unlike CreateUser and CreateShare
// they keep the dates they are given: an imported account was registered,
// and an imported share created, when the old server says.

// ImportUser stores u as it is: its password hash, permissions and
// RegisterDate (kept to the microsecond, in UTC), setting u.ID. The caller
// validates the name. A taken username is Conflict.
func (s *Store) ImportUser(ctx context.Context, u *domain.User) error {
	if err := checkLen("username", u.Username, 1, maxUsername); err != nil {
		return err
	}
	if err := checkLen("password hash", u.PasswordHash, 0, maxName); err != nil {
		return err
	}
	date := utc(u.RegisterDate)
	var id int64
	defer s.usersChanged()
	err := s.inTx(ctx, "import user", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO users (username, password_hash, permissions, register_date) VALUES (?, ?, ?, ?)`,
			u.Username, u.PasswordHash, int64(u.Perms), ts(date))
		if err != nil {
			if classify(err) == classUnique {
				return domain.Errorf(domain.Conflict, "user %q already exists", u.Username)
			}
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return err
	}
	u.ID, u.RegisterDate = id, date
	return nil
}

// ImportShare stores sh as it is, CreateDate included (kept to the
// microsecond, in UTC); with content, Initialized, Size, SHA256, BlobID and
// ModifiedAt must all be set. The caller validates the id and the file
// name. An Owner that is not an existing user is Invalid; a duplicate ID is
// Conflict.
func (s *Store) ImportShare(ctx context.Context, sh *domain.Share) error {
	if err := checkLen("share_id", sh.ID, 1, 36); err != nil {
		return err
	}
	if err := checkLen("file_name", sh.FileName, 1, maxName); err != nil {
		return err
	}
	if err := checkOwner(sh.Owner); err != nil {
		return err
	}
	if sh.Initialized && (sh.Size == nil || sh.SHA256 == nil || sh.BlobID == nil || sh.ModifiedAt == nil) {
		return domain.Errorf(domain.Invalid, "an initialized share needs its size, sha256, blob and modification time")
	}
	created := utc(sh.CreateDate)
	var modified any
	if sh.ModifiedAt != nil {
		modified = ts(*sh.ModifiedAt)
	}
	err := s.inTx(ctx, "import share", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shares (`+shareColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			sh.ID, sh.FileName, nullable(sh.Owner), sh.Initialized, sh.Locked, ts(created),
			nullable(sh.Size), nullable(sh.SHA256), nullable(sh.BlobID), modified)
		switch classify(err) {
		case classUnique:
			return domain.Errorf(domain.Conflict, "share %s already exists", sh.ID)
		case classForeignKey:
			return noSuchOwner(sh.Owner)
		}
		if err != nil {
			return err
		}
		_, err = s.bumpListVersion(ctx, tx)
		return err
	})
	// The share lands anywhere in the list order, not at its end (as a
	// new one would): the cached order is void either way.
	s.listChanged(true)
	s.cache.shares.forget(sh.ID)
	if err != nil {
		return err
	}
	sh.CreateDate = created
	return nil
}

// FillImportedContent gives an uninitialized share the content blob, for
// an import run again after a content file that was missing came back.
// It ignores the lock (the operator imports; no client modifies), and
// refuses (Conflict) a share that has content already, so it never
// replaces anything. NotFound if the share does not exist.
func (s *Store) FillImportedContent(ctx context.Context, id string, blob domain.Blob, modified time.Time) error {
	if err := checkLen("blob id", blob.ID, 1, maxName); err != nil {
		return err
	}
	if err := checkLen("sha256", blob.SHA256, 64, 64); err != nil {
		return err
	}
	if blob.Size < 0 {
		return domain.Errorf(domain.Invalid, "blob size must not be negative")
	}
	defer s.cache.shares.forget(id)
	defer s.listChanged(false)
	return s.inTx(ctx, "fill imported content", func(tx *sqlx.Tx) error {
		var r struct {
			Initialized bool           `db:"initialized"`
			BlobID      sql.NullString `db:"blob_id"`
		}
		if err := tx.GetContext(ctx, &r, `SELECT initialized, blob_id FROM shares WHERE share_id = ?`+s.forUpdate, id); err != nil {
			return notFound(err, "fill imported content", "share %s not found", id)
		}
		if r.Initialized || r.BlobID.Valid {
			return domain.Errorf(domain.Conflict, "share %s has content already", id)
		}
		_, err := tx.ExecContext(ctx, `UPDATE shares SET blob_id = ?, size = ?, sha256 = ?, initialized = ?, modified_at = ?
			WHERE share_id = ?`, blob.ID, blob.Size, blob.SHA256, true, ts(modified), id)
		return err
	})
}
