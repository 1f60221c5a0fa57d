package db

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// ListUsers' anchors. Page numbers mean OFFSET and `pages` means COUNT(*):
// uncached, a page of N users walks up to N index entries and counts all N
// (issue 14: at 10⁴ users GET /users ran at a fraction of its rate at 10²).
// Like the shares' list cache (listcache.go), but with no rows kept: per
// process, the total and the (register_date, username) key of every
// step-th user, read by one statement at most once per cache TTL; a page is
// then a keyset seek from the nearest anchor plus an OFFSET below step.
// Users are few and rarely created or deleted, so any such write by this
// process drops the anchors (seen at once); other processes' writes show
// within the TTL. Rows themselves are always read fresh, so UpdateUser
// needs no invalidation.
type userList struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every create or delete
	snap    *userSnap
	loading chan struct{} // closed when the snapshot read in flight ends
}

type userSnap struct {
	expires time.Time
	total   int
	step    int
	anchors []listKey // anchors[i]: the key (date, username) of the user at position i*step
}

// usersChanged drops the anchors after a create or delete of a user
// (committed or not).
func (s *Store) usersChanged() {
	c := &s.userList
	c.mu.Lock()
	c.gen++
	c.snap = nil
	c.mu.Unlock()
}

// userSnapshot returns anchors no older than ttl, read now if needed; nil
// (and no error) when a write overlapped the read: the caller reads
// uncached.
func (s *Store) userSnapshot(ctx context.Context, ttl time.Duration) (*userSnap, error) {
	c := &s.userList
	for {
		c.mu.Lock()
		if sn := c.snap; sn != nil && s.now().Before(sn.expires) {
			c.mu.Unlock()
			return sn, nil
		}
		if wait := c.loading; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fail(ctx.Err(), "list users")
			}
		}
		done := make(chan struct{})
		c.loading = done
		gen := c.gen
		c.mu.Unlock()

		expires := s.now().Add(ttl) // from before the read: staleness stays within ttl
		sn, err := s.readUserSnap(ctx)
		c.mu.Lock()
		c.loading = nil
		close(done)
		if err == nil && c.gen != gen {
			sn = nil // a write overlapped the read: not stored, not used
		} else if err == nil {
			sn.expires = expires
			c.snap = sn
		}
		c.mu.Unlock()
		return sn, err
	}
}

func (s *Store) readUserSnap(ctx context.Context) (*userSnap, error) {
	sn := &userSnap{}
	err := s.readTx(ctx, "list users", func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &sn.total, `SELECT COUNT(*) FROM users`); err != nil {
			return err
		}
		sn.step = listStep(sn.total, listMaxAnchors)
		var rows []struct {
			Date timestamp `db:"register_date"`
			Name string    `db:"username"`
		}
		// As readListSnap: every step-th key, from the index alone.
		if err := tx.SelectContext(ctx, &rows, `SELECT register_date, username FROM (
				SELECT register_date, username, ROW_NUMBER() OVER (ORDER BY register_date, username) - 1 AS rn FROM users
			) t WHERE rn % ? = 0 ORDER BY rn`, sn.step); err != nil {
			return err
		}
		sn.anchors = make([]listKey, len(rows))
		for i, r := range rows {
			sn.anchors[i] = listKey{date: ts(r.Date.Time), id: r.Name}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// listUsersCached is ListUsers through the anchors.
func (s *Store) listUsersCached(ctx context.Context, limit, offset int, ttl time.Duration) ([]domain.User, int, error) {
	sn, err := s.userSnapshot(ctx, ttl)
	if err != nil {
		return nil, 0, err
	}
	if sn == nil {
		return s.listUsersUncached(ctx, limit, offset)
	}
	if offset >= sn.total || limit == 0 {
		return []domain.User{}, sn.total, nil
	}
	a := sn.anchors[offset/sn.step]
	// The seek said the way each planner uses the index (see listSeek).
	q, args := ` FROM users WHERE (register_date, username) >= (?, ?)
		ORDER BY register_date, username LIMIT ? OFFSET ?`, []any{a.date, a.id}
	if s.dialect == DialectMySQL {
		q, args = ` FROM users WHERE register_date > ? OR (register_date = ? AND username >= ?)
			ORDER BY register_date, username LIMIT ? OFFSET ?`, []any{a.date, a.date, a.id}
	}
	var rows []userRow
	if err := s.selectHot(ctx, &rows, `SELECT `+userColumns+q, append(args, min(limit, sn.total-offset), offset%sn.step)...); err != nil {
		return nil, 0, fail(err, "list users")
	}
	users := make([]domain.User, len(rows))
	for i, r := range rows {
		users[i] = *r.domain()
	}
	return users, sn.total, nil
}
