package db

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

type userRow struct {
	ID           int64         `db:"id"`
	Username     string        `db:"username"`
	PasswordHash string        `db:"password_hash"`
	Permissions  int64         `db:"permissions"`
	RegisterDate timestamp     `db:"register_date"`
	Quota        sql.NullInt64 `db:"quota"`
}

func (r userRow) domain() *domain.User {
	return &domain.User{
		ID:           r.ID,
		Username:     r.Username,
		PasswordHash: r.PasswordHash,
		Perms:        domain.Perm(r.Permissions),
		RegisterDate: r.RegisterDate.Time,
		Quota:        nullInt64Ptr(r.Quota),
	}
}

const userColumns = `id, username, password_hash, permissions, register_date, quota`

// Column limits, checked here so both dialects refuse the same values
// (SQLite would store anything).
const (
	maxUsername = 64
	maxName     = 255 // file names, dzuuids, token ids, storage names
)

func checkLen(field, v string, lo, hi int) error {
	if len(v) < lo || len(v) > hi {
		return domain.Errorf(domain.Invalid, "%s: must be %d to %d bytes long", field, lo, hi)
	}
	return nil
}

// CreateUser stores a new user, setting u.ID (unique for the life of the
// database, never reused) and u.RegisterDate (now, UTC, microseconds). The
// caller validates the name and hashes the password. A taken username is
// Conflict.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	if err := checkLen("username", u.Username, 1, maxUsername); err != nil {
		return err
	}
	if err := checkLen("password hash", u.PasswordHash, 0, maxName); err != nil {
		return err
	}
	now := utc(s.now())
	var id int64
	defer s.usersChanged() // after the transaction, committed or not
	err := s.inTx(ctx, "create user", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO users (username, password_hash, permissions, register_date) VALUES (?, ?, ?, ?)`,
			u.Username, u.PasswordHash, int64(u.Perms), ts(now))
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
	u.ID, u.RegisterDate = id, now
	return nil
}

// UserByName returns the user, or NotFound. It is on every authenticated
// request's path, hence the prepared statement.
func (s *Store) UserByName(ctx context.Context, username string) (*domain.User, error) {
	var r userRow
	err := s.getHot(ctx, &r, `SELECT `+userColumns+` FROM users WHERE username = ?`, username)
	if err != nil {
		return nil, notFound(err, "user by name", "user %q not found", username)
	}
	return r.domain(), nil
}

// UpdateUser replaces the password hash, permissions and quota of the user
// named u.Username; NotFound if there is none. Other fields are ignored.
func (s *Store) UpdateUser(ctx context.Context, u *domain.User) error {
	if err := checkLen("password hash", u.PasswordHash, 0, maxName); err != nil {
		return err
	}
	defer s.cache.holders.forgetAll()
	defer s.cache.keys.forgetAll() // a key's permissions are cut to its user's
	return s.inTx(ctx, "update user", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, permissions = ?, quota = ? WHERE username = ?`,
			u.PasswordHash, int64(u.Perms), nullable(u.Quota), u.Username)
		if err != nil {
			return err
		}
		return mustAffect(res, domain.Errorf(domain.NotFound, "user %q not found", u.Username))
	})
}

// DeleteUser deletes the user; NotFound if there is none. A user who still
// owns shares is kept and the error is Conflict, naming how many: the check
// and the delete are one transaction, so no share can slip in between.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	defer s.cache.holders.forgetAll() // after the commit, like every forget
	defer s.cache.keys.forgetAll()    // the user's keys went with them (cascade)
	defer s.cache.links.forgetAll()   // and the links they made (cascade)
	defer s.usersChanged()
	return s.inTx(ctx, "delete user", func(tx *sqlx.Tx) error {
		// Lock the user first: whatever gives them a share (CreateShare,
		// UpdateShareMeta) must read-lock this row for its foreign key, so
		// it committed already (and is counted below) or waits for us.
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM users WHERE username = ?`+s.forUpdate, username); err != nil {
			return notFound(err, "delete user", "user %q not found", username)
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM shares WHERE owner_name = ?`, username); err != nil {
			return err
		}
		if n > 0 {
			return domain.Errorf(domain.Conflict, "user %q still owns %d shares; transfer or delete them first", username, n)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if classify(err) == classForeignKey { // belt and braces: the foreign key agrees
			return domain.Errorf(domain.Conflict, "user %q still owns shares; transfer or delete them first", username)
		}
		return err
	})
}

// ListUsers returns one page of users ordered by registration time, then
// username (a stable order), and the total number of users, both from one
// snapshot (with the Store's cache TTL above 0, the total and the page
// anchors come from userlist.go's cache: this process's creates and deletes
// show at once, other processes' within the TTL). limit and offset must not
// be negative (Invalid).
func (s *Store) ListUsers(ctx context.Context, limit, offset int) ([]domain.User, int, error) {
	if err := checkPage(limit, offset); err != nil {
		return nil, 0, err
	}
	if ttl := s.cache.ttl; ttl > 0 {
		return s.listUsersCached(ctx, limit, offset, ttl)
	}
	return s.listUsersUncached(ctx, limit, offset)
}

// listUsersUncached is ListUsers without the anchors (userlist.go).
func (s *Store) listUsersUncached(ctx context.Context, limit, offset int) ([]domain.User, int, error) {
	// As ListShares: one prepared statement, a deferred join on the order index.
	var rows []struct {
		Total int `db:"total"`
		userRow
	}
	err := s.selectHot(ctx, &rows, `SELECT c.total, `+qualified("u", userColumns)+`
		FROM (SELECT COUNT(*) AS total FROM users) c CROSS JOIN users u JOIN (
			SELECT username FROM users ORDER BY register_date, username LIMIT ? OFFSET ?
		) p ON p.username = u.username ORDER BY u.register_date, u.username`, limit, offset)
	if err != nil {
		return nil, 0, fail(err, "list users")
	}
	if len(rows) == 0 { // past the end: the count alone
		var total int
		if err := s.getHot(ctx, &total, `SELECT COUNT(*) FROM users`); err != nil {
			return nil, 0, fail(err, "count users")
		}
		return []domain.User{}, total, nil
	}
	users := make([]domain.User, len(rows))
	for i, r := range rows {
		users[i] = *r.domain()
	}
	return users, rows[0].Total, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.GetContext(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fail(err, "count users")
	}
	return n, nil
}

func checkPage(limit, offset int) error {
	if limit < 0 || offset < 0 {
		return domain.Errorf(domain.Invalid, "limit and offset must not be negative")
	}
	return nil
}

// mustAffect returns notFound unless res reports a matched row. (MySQL
// counts matched, not changed, rows: the DSN sets clientFoundRows.)
func mustAffect(res interface{ RowsAffected() (int64, error) }, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}
