package db

import (
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

func snapID(s *Store) uint64 {
	c := &s.lists
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil {
		return 0
	}
	return c.snap.id
}

// A snapshot close to its expiry is read again by one caller, early, so
// that lists need not wait for the read when it expires; a write that
// voids that read leaves the snapshot in hand in use, and starts no other.
func TestListCacheReadsAgainEarly(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0.Add(time.Hour))
		seedShares(t, s, 3*listBlock, nil)
		mkShare(t, s, 1, nil)
		s.SetCacheTTL(time.Second)
		checkPageIs(t, s, 15, 0)
		first := snapID(s)
		s.lists.mu.Lock()
		s.lists.took = 200 * time.Millisecond // the frozen clock says 0
		s.lists.mu.Unlock()

		c.Add(500 * time.Millisecond) // more than 2 × took before the expiry
		checkPageIs(t, s, 15, 0)
		if id := snapID(s); id != first {
			t.Fatalf("snapshot %d read again 500 ms before its expiry (2 × took is 400 ms)", id)
		}
		c.Add(200 * time.Millisecond)
		checkPageIs(t, s, 15, 15)
		second := snapID(s)
		if second == first {
			t.Fatal("snapshot not read again 300 ms before its expiry")
		}

		// A write during the early read voids it; the snapshot in hand
		// (its blocks dropped) serves, and no other early read starts.
		s.lists.mu.Lock()
		s.lists.took = 200 * time.Millisecond
		s.lists.mu.Unlock()
		reads := 0
		s.lists.afterRead = func(block int) {
			if block == -1 {
				reads++
				must(t, s.UpdateShareMeta(ctx, shareID(1), "renamed", nil)) // voids, without reordering
			}
		}
		t.Cleanup(func() { s.lists.afterRead = nil })
		c.Add(700 * time.Millisecond)
		checkPageIs(t, s, 15, 30)
		checkPageIs(t, s, 15, 45)
		if reads != 1 || snapID(s) != second {
			t.Fatalf("%d early reads, snapshot %d (want 1 read, snapshot %d kept)", reads, snapID(s), second)
		}
		s.lists.afterRead = nil
		c.Add(300 * time.Millisecond) // expired: read at once, as always
		checkAllPages(t, s, 15)
		if snapID(s) == second {
			t.Fatal("expired snapshot still in use")
		}
	})
}

func anchorsAt(s *Store) *listKey {
	c := &s.lists
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil || len(c.snap.anchors) == 0 {
		return nil
	}
	return &c.snap.anchors[0]
}

// An expired snapshot whose share_list_version is unchanged is kept (its
// anchors not read again) with its blocks dropped; another process's
// insert or delete makes it read again, and a rename shows all the same.
func TestListCacheKeepsAnUnchangedSnapshot(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0.Add(time.Hour))
		seedShares(t, s, 3*listBlock, nil)
		other := &Store{}
		*other = Store{dialect: s.dialect, w: s.w, r: s.r, now: s.now, stmts: map[string]*sqlx.Stmt{}, token: "other", cache: newCaches()}
		other.SetCacheTTL(0)
		mkShare(t, other, 1, nil)
		s.SetCacheTTL(time.Second)
		checkAllPages(t, s, 15)
		first := anchorsAt(s)

		must(t, other.UpdateShareMeta(ctx, shareID(1), "renamed elsewhere", nil))
		c.Add(1500 * time.Millisecond)
		checkAllPages(t, s, 15) // the new name, from a block read again
		if anchorsAt(s) != first {
			t.Fatal("anchors read again though no share came or went")
		}

		c.Add(1500 * time.Millisecond)
		mkShare(t, other, 2, nil)
		checkAllPages(t, s, 15)
		second := anchorsAt(s)
		if second == first {
			t.Fatal("another process's new share did not make the snapshot be read again")
		}
		c.Add(1500 * time.Millisecond)
		_, err := other.DeleteShare(ctx, shareID(1))
		must(t, err)
		checkAllPages(t, s, 15)
		if anchorsAt(s) == second {
			t.Fatal("another process's delete did not make the snapshot be read again")
		}
	})
}

// Past directAt shares a page is read alone from its anchor; it is the
// same page.
func TestListCacheDirectPagesMatchTheQuery(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		seedShares(t, s, 700, nil)
		s.lists.directAt, s.lists.maxAnchors = 100, 3 // sparse anchors: OFFSETs from them
		s.SetCacheTTL(time.Hour)
		for _, per := range []int{1, 7, 15, listBlock, 100} {
			checkAllPages(t, s, per)
		}
		checkPageIs(t, s, 0, 0)
		checkPageIs(t, s, 15, 1<<40)
		if rows, _, _, cached := cacheRows(s); !cached || rows != 0 {
			t.Fatalf("cached %v, %d rows in blocks: want a snapshot and no blocks", cached, rows)
		}
		mkShare(t, s, 1, nil) // an append shows at once, as with blocks
		checkAllPages(t, s, 15)
	})
}

// This process's own creates keep the snapshot current: at expiry it is
// kept, not read again; another process's create in between still makes
// it be read again.
func TestListCacheOwnCreatesKeepTheSnapshot(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0.Add(time.Hour))
		seedShares(t, s, 3*listBlock+5, nil) // no new anchor (array) in the creates below
		s.SetCacheTTL(time.Second)
		checkAllPages(t, s, 15)
		first := anchorsAt(s)
		for i := range 3 {
			c.Add(time.Millisecond)
			mkShare(t, s, 10+i, nil)
		}
		c.Add(1500 * time.Millisecond)
		checkAllPages(t, s, 15)
		if anchorsAt(s) != first {
			t.Fatal("snapshot read again after this process's own creates only")
		}

		other := &Store{}
		*other = Store{dialect: s.dialect, w: s.w, r: s.r, now: s.now, stmts: map[string]*sqlx.Stmt{}, token: "other", cache: newCaches()}
		other.SetCacheTTL(0)
		c.Add(time.Millisecond)
		mkShare(t, other, 20, nil)
		c.Add(time.Millisecond)
		mkShare(t, s, 21, nil) // its version is two past the snapshot's
		c.Add(1500 * time.Millisecond)
		checkAllPages(t, s, 15)
		if anchorsAt(s) == first {
			t.Fatal("another process's create did not make the snapshot be read again")
		}
	})
}
