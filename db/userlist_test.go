package db

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// seedUsers inserts n users in one transaction, bypassing CreateUser (and
// so the anchors): registration times repeat in runs of up to 3, and names
// are in random order, so ties broken by name fall on every kind of
// boundary.
func seedUsers(t *testing.T, s *Store, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, uint64(n)))
	err := s.inTx(ctx, "seed users", func(tx *sqlx.Tx) error {
		at := t0
		for i := range n {
			if rng.IntN(3) == 0 {
				at = at.Add(time.Millisecond)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, permissions, register_date) VALUES (?, ?, ?, ?)`,
				fmt.Sprintf("u%08x-%d", rng.Uint32(), i), "hash", 0, ts(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkUserPage compares a page with the straightforward query's.
func checkUserPage(t *testing.T, s *Store, limit, offset int) {
	t.Helper()
	got, total, err := s.ListUsers(ctx, limit, offset)
	must(t, err)
	want, wantTotal, err := s.listUsersUncached(ctx, limit, offset)
	must(t, err)
	if total != wantTotal || !reflect.DeepEqual(got, want) {
		t.Fatalf("ListUsers(%d, %d): total %d, %v; want %d, %v", limit, offset, total, userNames(got), wantTotal, userNames(want))
	}
}

func checkAllUserPages(t *testing.T, s *Store, per int) {
	t.Helper()
	_, total, err := s.listUsersUncached(ctx, 1, 0)
	must(t, err)
	for off := 0; off <= total+per; off += per {
		checkUserPage(t, s, per, off)
	}
}

func userNames(us []domain.User) []string {
	out := make([]string, len(us))
	for i := range us {
		out[i] = us[i].Username
	}
	return out
}

func userAnchors(s *Store) (anchors int, cached bool) {
	c := &s.userList
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil {
		return 0, false
	}
	return len(c.snap.anchors), true
}

func TestUserListPagesMatchTheQuery(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		for _, n := range []int{0, 1, listBlock, 3*listBlock + 5} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				_, err := s.w.Exec(`DELETE FROM users`)
				must(t, err)
				seedUsers(t, s, n)
				s.usersChanged() // the seed went around the Store
				s.SetCacheTTL(time.Hour)
				rng := rand.New(rand.NewPCG(4, uint64(n)))
				for range 100 {
					limit := 1 + rng.IntN(100)
					checkUserPage(t, s, limit, rng.IntN(n+limit+1))
				}
				for _, per := range []int{1, 7, 15, listBlock, 100} {
					checkAllUserPages(t, s, per)
				}
				checkUserPage(t, s, 0, 0)
				checkUserPage(t, s, 15, 1<<40)
				if a, cached := userAnchors(s); !cached || a != (n+listBlock-1)/listBlock {
					t.Fatalf("%d anchors (cached %v) for %d users, want %d", a, cached, n, (n+listBlock-1)/listBlock)
				}
			})
		}
	})
}

func TestUserListSeesWritesAtOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0.Add(time.Hour)) // after every seeded user
		seedUsers(t, s, 2*listBlock+3)
		s.SetCacheTTL(time.Hour) // a frozen clock: only writes refresh
		checkAllUserPages(t, s, 15)
		mkUser(t, s, "created")
		checkAllUserPages(t, s, 15)
		c.Set(t0) // registered among the seeded users: the order shifts
		mkUser(t, s, "early")
		checkAllUserPages(t, s, 15)
		must(t, s.DeleteUser(ctx, "created"))
		checkAllUserPages(t, s, 15)
		must(t, s.ImportUser(ctx, &domain.User{Username: "imported", PasswordHash: "h", RegisterDate: t0.Add(-time.Hour)}))
		checkAllUserPages(t, s, 15)
		// A failed create (a taken name) changes nothing, and is harmless.
		wantKind(t, s.CreateUser(ctx, &domain.User{Username: "early", PasswordHash: "h"}), domain.Conflict)
		checkAllUserPages(t, s, 7)
	})
}

func TestUserListTTL(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0.Add(time.Hour))
		seedUsers(t, s, 100)
		// Another process on the same database: its writes never reach
		// this process's invalidation.
		other := &Store{}
		*other = Store{dialect: s.dialect, w: s.w, r: s.r, now: s.now, stmts: map[string]*sqlx.Stmt{}, token: "other", cache: newCaches()}
		other.SetCacheTTL(0)

		t.Run("ZeroDisablesCaching", func(t *testing.T) {
			s.SetCacheTTL(0)
			checkAllUserPages(t, s, 15)
			if _, cached := userAnchors(s); cached {
				t.Fatal("anchors cached with TTL 0")
			}
			mkUser(t, other, "other1")
			checkAllUserPages(t, s, 15)
		})
		t.Run("OtherProcessesShowWithinTheTTL", func(t *testing.T) {
			s.SetCacheTTL(time.Second)
			checkAllUserPages(t, s, 15)
			_, total, err := s.ListUsers(ctx, 15, 0)
			must(t, err)
			mkUser(t, other, "other2")
			c.Add(999 * time.Millisecond)
			if _, stale, err := s.ListUsers(ctx, 15, 0); err != nil || stale != total {
				t.Fatalf("total %d (err %v) within the TTL, want the cached %d", stale, err, total)
			}
			c.Add(time.Millisecond)
			if _, fresh, err := s.ListUsers(ctx, 15, 0); err != nil || fresh != total+1 {
				t.Fatalf("total %d (err %v) after the TTL, want %d", fresh, err, total+1)
			}
			checkAllUserPages(t, s, 15)
		})
	})
}
