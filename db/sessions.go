package db

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// SessionEpoch returns the user's session epoch: a token is valid only if
// it carries at least this (see EndSessions). It reads the database, not
// the cache, so a token issued right after an EndSessions on any process
// is issued with the new epoch.
func (s *Store) SessionEpoch(ctx context.Context, userID int64) (int64, error) {
	var epoch int64
	err := s.r.GetContext(ctx, &epoch, `SELECT COALESCE(MAX(epoch), 0) FROM user_sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fail(err, "session epoch")
	}
	return epoch, nil
}

// EndSessions ends every session of the user: it advances their session
// epoch, so that every token issued so far stops working, except the token
// keepJTI when it is not "" (a password change keeps the caller's token),
// and returns the new epoch, which tokens issued from now on carry. Within
// this process the change is seen at once; other processes see it within
// their cache TTL. NotFound when the user does not exist.
func (s *Store) EndSessions(ctx context.Context, userID int64, keepJTI string) (int64, error) {
	if keepJTI != "" {
		if err := checkLen("jti", keepJTI, 1, maxName); err != nil {
			return 0, err
		}
	}
	kept := sql.NullString{String: keepJTI, Valid: keepJTI != ""}
	args := []any{userID, kept}
	q := `INSERT INTO user_sessions (user_id, epoch, kept_jti) VALUES (?, 1, ?)
		ON CONFLICT (user_id) DO UPDATE SET epoch = user_sessions.epoch + 1, kept_jti = excluded.kept_jti`
	if s.dialect == DialectMySQL {
		q = `INSERT INTO user_sessions (user_id, epoch, kept_jti) VALUES (?, 1, ?)
			ON DUPLICATE KEY UPDATE epoch = epoch + 1, kept_jti = ?` // not VALUES(): deprecated in MySQL 8
		args = append(args, kept)
	}
	defer s.cache.holders.forgetAll() // after the commit, like every forget
	var epoch int64
	err := s.inTx(ctx, "end sessions", func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			if classify(err) == classForeignKey {
				return domain.Errorf(domain.NotFound, "user %d not found", userID)
			}
			return err
		}
		return tx.GetContext(ctx, &epoch, `SELECT epoch FROM user_sessions WHERE user_id = ?`, userID)
	})
	return epoch, err
}
