package db

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// Share expiry. A share whose expires_at has passed reads as missing from
// that instant (ShareByID, UpdateShare, ListShares judge it at the current
// time, cached row or not) and DeleteExpired, run by the periodic cleanup,
// removes it with its content later.

// expiryProbe remembers whether any share carries an expiry, so that
// ListShares knows whether its cache (which knows nothing of expiry) may
// serve. Writes of this process that set an expiry mark it at once; other
// processes' show within the cache TTL, like their other writes.
type expiryProbe struct {
	mu      sync.Mutex
	any     bool
	checked time.Time // zero: never probed
}

// expired reports whether a share with this expiry has stopped serving.
func (s *Store) expired(at nullTimestamp) bool {
	return at.Valid && !at.Time.After(s.now())
}

// expiryWritten notes that a share with an expiry exists (or is about to).
func (s *Store) expiryWritten() {
	p := &s.expiry
	p.mu.Lock()
	p.any, p.checked = true, s.now()
	p.mu.Unlock()
}

// anyExpiry reports whether some share carries an expiry, expired or not,
// probing the database at most once per cache TTL (every call without a
// cache). The probe is one index look-up.
func (s *Store) anyExpiry(ctx context.Context) (bool, error) {
	p := &s.expiry
	now := s.now()
	ttl := s.cache.ttl
	p.mu.Lock()
	if ttl > 0 && !p.checked.IsZero() && now.Sub(p.checked) < ttl {
		defer p.mu.Unlock()
		return p.any, nil
	}
	p.mu.Unlock()
	var n int
	if err := s.getHot(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 AS x FROM shares WHERE expires_at IS NOT NULL LIMIT 1) t`); err != nil {
		return false, fail(err, "probe share expiry")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A local write that set an expiry during the probe wins over it.
	if !(p.any && p.checked.After(now)) {
		p.any, p.checked = n > 0, now
	}
	return p.any, nil
}

// listSharesUnexpired is ListShares while shares carry expiries: the
// unexpired ones, counted and paged in one statement as in
// listSharesUncached, filtered at the current time.
func (s *Store) listSharesUnexpired(ctx context.Context, limit, offset int) ([]domain.Share, int, error) {
	now := ts(s.now())
	var rows []struct {
		Total int `db:"total"`
		shareRow
	}
	const live = `(expires_at IS NULL OR expires_at > ?)`
	err := s.selectHot(ctx, &rows, `SELECT c.total, `+qualified("s", shareColumns)+`
		FROM (SELECT COUNT(*) AS total FROM shares WHERE `+live+`) c CROSS JOIN shares s JOIN (
			SELECT share_id FROM shares WHERE `+live+` ORDER BY create_date, share_id LIMIT ? OFFSET ?
		) p ON p.share_id = s.share_id ORDER BY s.create_date, s.share_id`, now, now, limit, offset)
	if err != nil {
		return nil, 0, fail(err, "list shares")
	}
	if len(rows) == 0 {
		var total int
		if err := s.getHot(ctx, &total, `SELECT COUNT(*) FROM shares WHERE `+live, now); err != nil {
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

// DeleteExpired is the purge: it deletes every share whose expiry is not
// after now, locked or not, with its unfinished uploads, each in its own
// short transaction re-checked under lock (an expiry moved meanwhile
// saves the share). It returns the storage names to remove; on error,
// those of the shares deleted before it.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (files []string, err error) {
	n := ts(now)
	var ids []string
	if err := s.r.SelectContext(ctx, &ids, `SELECT share_id FROM shares
		WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, share_id`, n); err != nil {
		return nil, fail(err, "delete expired")
	}
	for _, id := range ids {
		var got []string
		err := s.inTx(ctx, "delete expired share", func(tx *sqlx.Tx) error {
			got = nil
			var due int
			if err := tx.GetContext(ctx, &due, `SELECT COUNT(*) FROM shares
				WHERE share_id = ? AND expires_at IS NOT NULL AND expires_at <= ?`+s.forUpdate, id, n); err != nil || due == 0 {
				return err
			}
			var err error
			got, err = s.deleteShareTx(ctx, tx, id, true)
			return err
		})
		s.cache.shares.forget(id)
		s.listChanged(true)
		if err != nil {
			return files, err
		}
		files = append(files, got...)
	}
	return files, nil
}
