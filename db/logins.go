package db

import (
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// UpdateLoginBuckets is the sign-in throttle's one atomic step, shared by
// every process on the database: it reads the buckets named by keys (each a
// GCRA "theoretical arrival time" in microseconds since the Unix epoch, 0
// for a bucket never used), lets fn decide, and stores what fn returns, all
// in one transaction, so two processes can never both spend a budget's
// last attempt. fn gets and returns the values in keys' order; returning
// nil stores nothing. fn may run more than once (a deadlock is retried),
// so it must not accumulate state outside.
func (s *Store) UpdateLoginBuckets(ctx context.Context, keys []string, fn func(tats []int64) []int64) error {
	for _, k := range keys {
		if err := checkLen("throttle key", k, 1, maxName); err != nil {
			return err
		}
	}
	// Rows are touched in one order, so two transactions over overlapping
	// keys queue on the first shared row instead of deadlocking.
	order := slices.Clone(keys)
	slices.Sort(order)
	order = slices.Compact(order)
	ensure := `INSERT INTO login_buckets (k, tat) VALUES (?, 0) ON CONFLICT (k) DO NOTHING`
	if s.dialect == DialectMySQL {
		ensure = `INSERT INTO login_buckets (k, tat) VALUES (?, 0) ON DUPLICATE KEY UPDATE k = k`
	}
	return s.inTx(ctx, "update login buckets", func(tx *sqlx.Tx) error {
		got := make(map[string]int64, len(order))
		for _, k := range order {
			// Create the row first, then lock it: a locking read of a
			// missing row takes a gap lock in InnoDB, and two such gap
			// locks followed by inserts deadlock.
			if _, err := tx.ExecContext(ctx, ensure, k); err != nil {
				return err
			}
			var tat int64
			if err := tx.GetContext(ctx, &tat, `SELECT tat FROM login_buckets WHERE k = ?`+s.forUpdate, k); err != nil {
				return err
			}
			got[k] = tat
		}
		tats := make([]int64, len(keys))
		for i, k := range keys {
			tats[i] = got[k]
		}
		out := fn(tats)
		if out == nil {
			return nil
		}
		for i, k := range keys {
			if out[i] == tats[i] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE login_buckets SET tat = ? WHERE k = ?`, out[i], k); err != nil {
				return err
			}
		}
		return nil
	})
}

// LastLogin returns when username last signed in from addr (a client
// address key), if it did and PurgeLogins has not forgotten it since.
func (s *Store) LastLogin(ctx context.Context, username, addr string) (time.Time, bool, error) {
	if len(username) > maxUsername || len(addr) > maxUsername {
		return time.Time{}, false, nil // never stored: no such name can sign in
	}
	var at []timestamp
	err := s.selectHot(ctx, &at, `SELECT last_seen FROM login_familiar WHERE username = ? AND addr = ?`, username, addr)
	if err != nil {
		return time.Time{}, false, fail(err, "last login")
	}
	if len(at) == 0 {
		return time.Time{}, false, nil
	}
	return at[0].Time, true, nil
}

// RememberLogin records that username signed in from addr at at.
func (s *Store) RememberLogin(ctx context.Context, username, addr string, at time.Time) error {
	if err := checkLen("username", username, 1, maxUsername); err != nil {
		return err
	}
	if err := checkLen("address", addr, 1, maxUsername); err != nil {
		return err
	}
	args := []any{username, addr, ts(at)}
	q := `INSERT INTO login_familiar (username, addr, last_seen) VALUES (?, ?, ?)
		ON CONFLICT (username, addr) DO UPDATE SET last_seen = excluded.last_seen`
	if s.dialect == DialectMySQL {
		q = `INSERT INTO login_familiar (username, addr, last_seen) VALUES (?, ?, ?)
			ON DUPLICATE KEY UPDATE last_seen = ?` // not VALUES(): deprecated in MySQL 8
		args = append(args, ts(at))
	}
	return s.inTx(ctx, "remember login", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}

// PurgeLogins forgets throttle buckets that are empty at now (they hold
// nothing a fresh bucket would not) and familiar addresses last seen before
// familiarSince, and returns how many rows it removed.
func (s *Store) PurgeLogins(ctx context.Context, now, familiarSince time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, "purge logins", func(tx *sqlx.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM login_buckets WHERE tat < ?`, now.UnixMicro())
		if err != nil {
			return err
		}
		a, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM login_familiar WHERE last_seen < ?`, ts(familiarSince))
		if err != nil {
			return err
		}
		b, _ := res.RowsAffected()
		n = a + b
		return nil
	})
	return n, err
}
