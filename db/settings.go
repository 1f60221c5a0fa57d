package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// DefaultPerms returns the anonymous user's permissions (the
// default_permissions setting): empty until SetDefaultPerms is called. It
// runs on every anonymous request, hence the prepared statement.
func (s *Store) DefaultPerms(ctx context.Context) (domain.Perm, error) {
	p, err := cachedRead(s, s.cache.defPerms, struct{}{}, func() (int64, error) {
		var p int64
		err := s.getHot(ctx, &p, `SELECT default_permissions FROM settings WHERE id = 1`)
		return p, err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // never set
	}
	if err != nil {
		return 0, fail(err, "default perms")
	}
	return domain.Perm(p), nil
}

// SetDefaultPerms replaces the anonymous user's permissions.
func (s *Store) SetDefaultPerms(ctx context.Context, p domain.Perm) error {
	q := `INSERT INTO settings (id, default_permissions) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET default_permissions = excluded.default_permissions`
	if s.dialect == DialectMySQL {
		// Not VALUES(): deprecated in MySQL 8.0.20, and its replacement is
		// not MariaDB's.
		q = `INSERT INTO settings (id, default_permissions) VALUES (1, ?)
			ON DUPLICATE KEY UPDATE default_permissions = ?`
	}
	args := []any{int64(p)}
	if s.dialect == DialectMySQL {
		args = append(args, int64(p))
	}
	defer s.cache.defPerms.forgetAll()
	return s.inTx(ctx, "set default perms", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}
