package db

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
)

// txAttempts bounds how often a transaction is run again after a deadlock,
// a lock wait timeout or SQLITE_BUSY.
const txAttempts = 5

// inTx runs fn in a write transaction and commits it, running it again
// from the start when the database asks for a retry (deadlock, lock
// timeout, busy). fn must therefore only assign, never accumulate, results
// it leaves outside. The transaction is rolled back when fn returns an
// error or panics (the panic goes on). The commit's own error is returned:
// an acknowledged write is a committed one. Errors come back through fail,
// so they are domain errors.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sqlx.Tx) error) error {
	return s.retrying(ctx, op, func() error { return s.tx1(ctx, fn) })
}

// retrying runs fn, an idempotent write (a whole transaction, or one
// statement committed on its own), again as inTx does when the database
// asks for a retry.
func (s *Store) retrying(ctx context.Context, op string, fn func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = fn()
		if err == nil || classify(err) != classRetry || attempt == txAttempts || ctx.Err() != nil {
			break
		}
		s.retries.Add(1)
		// Jittered exponential back-off so the contenders don't collide again.
		d := time.Duration(1<<attempt) * time.Millisecond
		d += rand.N(d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(ctx.Err(), op)
		case <-t.C:
		}
	}
	return fail(err, op)
}

func (s *Store) tx1(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read-only transaction on the read pool, so that
// several queries (a page and its total) see one snapshot.
func (s *Store) readTx(ctx context.Context, op string, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := s.r.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(err, op)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return fail(err, op)
	}
	return fail(tx.Commit(), op)
}
