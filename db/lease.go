package db

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// TakeLease takes or renews the named lease for ttl and reports whether
// this Store now holds it: it does when nobody held it, when this Store
// already did, or when the holder's lease ran out (the holder died, or
// stopped renewing). However many processes on one database race, at most
// one holds a lease at a time, as long as their clocks agree to within a
// small part of ttl (expiry is judged by the caller's clock, so that SQLite
// and MySQL behave alike).
//
// Work guarded by a lease must still be safe to run twice: a holder whose
// work outlasts ttl may overlap with the next one.
func (s *Store) TakeLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if err := checkLen("lease name", name, 1, 64); err != nil {
		return false, err
	}
	held := false
	err := s.inTx(ctx, "take lease", func(tx *sqlx.Tx) error {
		held = false
		now := s.now()
		until := ts(now.Add(ttl))
		// The compare-and-set first: only one racer's UPDATE can match. (In
		// MySQL it counts matched rows, so a renewal to the same values
		// still counts.)
		res, err := tx.ExecContext(ctx, `UPDATE leases SET holder = ?, expires_at = ?
			WHERE name = ? AND (holder = ? OR expires_at < ?)`, s.token, until, name, s.token, ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			held = n == 1
			return err
		}
		// No row, or someone else's live lease: a missing row is created
		// held by us, and an insert that loses a race inserts nothing.
		ins := `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`
		if s.dialect == DialectMySQL {
			ins = `INSERT IGNORE INTO leases (name, holder, expires_at) VALUES (?, ?, ?)`
		}
		res, err = tx.ExecContext(ctx, ins, name, s.token, until)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// ReleaseLease gives up the named lease if this Store holds it, so another
// process may take it at once. Releasing a lease not held is no error.
func (s *Store) ReleaseLease(ctx context.Context, name string) error {
	return s.inTx(ctx, "release lease", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, s.token)
		return err
	})
}
