package db

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// RevokeToken records the token id jti as revoked until expires (the
// token's own expiry, after which PurgeRevoked may forget it). Revoking it
// twice is Conflict.
func (s *Store) RevokeToken(ctx context.Context, jti string, expires time.Time) error {
	if err := checkLen("jti", jti, 1, maxName); err != nil {
		return err
	}
	defer s.cache.holders.forgetAll() // once committed: the key is (username, jti)
	return s.inTx(ctx, "revoke token", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)`, jti, ts(expires))
		if classify(err) == classUnique {
			return domain.Errorf(domain.Conflict, "token already revoked")
		}
		return err
	})
}

// IsRevoked reports whether jti was revoked. Authenticated requests do
// not call it: TokenHolder answers the same question together with the
// user, in one round trip.
func (s *Store) IsRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	if err := s.getHot(ctx, &n, `SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?`, jti); err != nil {
		return false, fail(err, "is revoked")
	}
	return n > 0, nil
}

// PurgeRevoked forgets revocations whose token expired before now (such
// tokens fail verification anyway) and returns how many it removed.
func (s *Store) PurgeRevoked(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, "purge revoked", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, ts(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// TokenHolder returns the user named username and whether the token jti is
// revoked, in one round trip: it is what every authenticated request asks.
// NotFound when there is no such user. It does not consider ended
// sessions; TokenStatus does.
// The answer is cached (see DefaultCacheTTL).
func (s *Store) TokenHolder(ctx context.Context, username, jti string) (*domain.User, bool, error) {
	r, err := s.holder(ctx, username, jti)
	if err != nil {
		return nil, false, err
	}
	return r.userRow.domain(), r.Revoked, nil
}

// TokenStatus returns the user named username and the standing of their
// token jti issued at session epoch epoch (see EndSessions): revoked by
// jti, or ended with the user's sessions unless it is the token a password
// change kept. NotFound when there is no such user. The answer is cached
// like TokenHolder's, so an ending of sessions by another process is seen
// within the cache TTL, by this one at once.
func (s *Store) TokenStatus(ctx context.Context, username, jti string, epoch int64) (*domain.User, domain.TokenStatus, error) {
	r, err := s.holder(ctx, username, jti)
	if err != nil {
		return nil, domain.TokenStatus{}, err
	}
	st := domain.TokenStatus{Revoked: r.Revoked, Epoch: epoch}
	switch {
	case epoch >= r.Epoch:
	case r.KeptJTI.Valid && r.KeptJTI.String == jti:
		st.Epoch = r.Epoch // renewals of the kept token belong to the new epoch
	default:
		st.Revoked = true
	}
	return r.userRow.domain(), st, nil
}

func (s *Store) holder(ctx context.Context, username, jti string) (holderRow, error) {
	r, err := cachedRead(s, s.cache.holders, holderKey{username, jti}, func() (holderRow, error) {
		var r holderRow
		err := s.getHot(ctx, &r, `SELECT `+qualified("u", userColumns)+`,
			EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?) AS revoked,
			COALESCE(us.epoch, 0) AS epoch, us.kept_jti
			FROM users u LEFT JOIN user_sessions us ON us.user_id = u.id
			WHERE u.username = ?`, jti, username)
		return r, err
	})
	if err != nil {
		return r, notFound(err, "token holder", "user %q not found", username)
	}
	return r, nil
}

type holderRow struct {
	userRow
	Revoked bool           `db:"revoked"`
	Epoch   int64          `db:"epoch"`
	KeptJTI sql.NullString `db:"kept_jti"`
}
