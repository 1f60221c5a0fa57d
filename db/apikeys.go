package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// touchEvery is how often at most a key's last_used is written: a key used
// by a busy script must not turn every request into a write.
const touchEvery = time.Minute

type apiKeyRow struct {
	ID          string        `db:"key_id"`
	UserID      int64         `db:"user_id"`
	Name        string        `db:"name"`
	SecretHash  string        `db:"secret_hash"`
	Permissions int64         `db:"permissions"`
	CreatedAt   timestamp     `db:"created_at"`
	ExpiresAt   nullTimestamp `db:"expires_at"`
	LastUsed    nullTimestamp `db:"last_used"`
}

const apiKeyColumns = `key_id, user_id, name, secret_hash, permissions, created_at, expires_at, last_used`

func (r apiKeyRow) domain() *domain.APIKey {
	return &domain.APIKey{
		ID:         r.ID,
		UserID:     r.UserID,
		Name:       r.Name,
		SecretHash: r.SecretHash,
		Perms:      domain.Perm(r.Permissions),
		CreateDate: r.CreatedAt.Time,
		Expires:    r.ExpiresAt.ptr(),
		LastUsed:   r.LastUsed.ptr(),
	}
}

// keyHolderRow is a key with its user's name and permissions: what
// authenticating with a key needs.
type keyHolderRow struct {
	apiKeyRow
	Username  string `db:"username"`
	UserPerms int64  `db:"user_permissions"`
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// CreateAPIKey stores k for its user, setting k.CreateDate (now, UTC,
// microseconds). The caller makes the id and hash and checks the name and
// permissions. A name the user already gave a key is Conflict, as is a
// user who has domain.MaxAPIKeysPerUser keys; a user that does not exist
// is NotFound.
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey) error {
	if err := checkLen("key id", k.ID, 1, 32); err != nil {
		return err
	}
	if err := checkLen("key name", k.Name, 1, 256); err != nil {
		return err
	}
	now := utc(s.now())
	err := s.inTx(ctx, "create api key", func(tx *sqlx.Tx) error {
		// Lock the user, so concurrent creations count one after another
		// and a concurrent DeleteUser either ran first or waits.
		var uid int64
		if err := tx.GetContext(ctx, &uid, `SELECT id FROM users WHERE id = ?`+s.forUpdate, k.UserID); err != nil {
			return notFound(err, "create api key", "user %d not found", k.UserID)
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM api_keys WHERE user_id = ?`, k.UserID); err != nil {
			return err
		}
		if n >= domain.MaxAPIKeysPerUser {
			return domain.Errorf(domain.Conflict, "You have %d API keys, the most allowed: revoke one first.", n)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
			k.ID, k.UserID, k.Name, k.SecretHash, int64(k.Perms), ts(now), nullTime(k.Expires))
		switch classify(err) {
		case classUnique:
			return domain.Errorf(domain.Conflict, "You already have a key named %q.", k.Name)
		case classForeignKey:
			return domain.Errorf(domain.NotFound, "user %d not found", k.UserID)
		}
		return err
	})
	if err != nil {
		return err
	}
	k.CreateDate = now
	return nil
}

// APIKeys returns the user's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, userID int64) ([]domain.APIKey, error) {
	var rows []apiKeyRow
	err := s.r.SelectContext(ctx, &rows, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE user_id = ? ORDER BY created_at DESC, key_id`, userID)
	if err != nil {
		return nil, fail(err, "list api keys")
	}
	out := make([]domain.APIKey, len(rows))
	for i, r := range rows {
		out[i] = *r.domain()
	}
	return out, nil
}

// DeleteAPIKey revokes the user's key keyID; NotFound when the user has no
// such key. This process stops accepting it at once; others within their
// cache TTL.
func (s *Store) DeleteAPIKey(ctx context.Context, userID int64, keyID string) error {
	defer s.cache.keys.forget(keyID) // after the commit, like every forget
	return s.inTx(ctx, "delete api key", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE key_id = ? AND user_id = ?`, keyID, userID)
		if err != nil {
			return err
		}
		return mustAffect(res, domain.Errorf(domain.NotFound, "No such key."))
	})
}

// APIKeyHolder returns the key keyID and its user (ID, Username and Perms
// only), in one round trip: it
// is what every request made with a key asks. NotFound when there is no
// such key (a revoked key, or one whose user was deleted, is gone). The
// answer is cached (see DefaultCacheTTL); revoking a key and changing or
// deleting a user forget it here at once.
func (s *Store) APIKeyHolder(ctx context.Context, keyID string) (*domain.APIKey, *domain.User, error) {
	r, err := cachedRead(s, s.cache.keys, keyID, func() (keyHolderRow, error) {
		var r keyHolderRow
		err := s.getHot(ctx, &r, `SELECT `+qualified("k", apiKeyColumns)+`,
			u.username, u.permissions AS user_permissions
			FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_id = ?`, keyID)
		return r, err
	})
	if err != nil {
		return nil, nil, notFound(err, "api key holder", "No such key.")
	}
	return r.apiKeyRow.domain(), &domain.User{ID: r.UserID, Username: r.Username, Perms: domain.Perm(r.UserPerms)}, nil
}

// TouchAPIKey records that the key was used at now, at most once per
// touchEvery per key: the update skips a key touched less than touchEvery
// ago by any process, and this process then remembers until when it need
// not try again. So a busy key costs a write a minute, not one per request.
func (s *Store) TouchAPIKey(ctx context.Context, keyID string, now time.Time) error {
	if _, ok := s.cache.touched.get(keyID, now); ok {
		return nil
	}
	gen := s.cache.touched.begin()
	now = utc(now)
	next := now.Add(touchEvery)
	err := s.inTx(ctx, "touch api key", func(tx *sqlx.Tx) error {
		next = now.Add(touchEvery)
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used = ?
			WHERE key_id = ? AND (last_used IS NULL OR last_used <= ?)`,
			ts(now), keyID, ts(now.Add(-touchEvery)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// Touched recently elsewhere (or gone): try again a minute after
		// that touch, not after now, so the record lags by at most a minute.
		var last nullTimestamp
		err = tx.GetContext(ctx, &last, `SELECT last_used FROM api_keys WHERE key_id = ?`, keyID)
		if err == nil && last.Valid {
			next = last.Time.Add(touchEvery)
		} else if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return err
	})
	if err != nil {
		return err
	}
	s.cache.touched.put(keyID, struct{}{}, gen, next)
	return nil
}
