package db

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// TestLoginBucketsAreAtomicAcrossStores: two stores on one database (two
// server processes) spending one budget concurrently never spend more than
// it holds.
func TestLoginBucketsAreAtomicAcrossStores(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			if err := a.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := openStore(t, dsn)
			const budget, tries = 5, 24
			var mu sync.Mutex
			spent := 0
			var wg sync.WaitGroup
			for i := 0; i < tries; i++ {
				s := a
				if i%2 == 1 {
					s = b
				}
				keys := []string{"ua:x|1.2.3.4", "u:x"}
				if i%3 == 0 {
					keys = []string{"u:x", "ua:x|1.2.3.4"} // another order: no deadlock
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok := false
					err := s.UpdateLoginBuckets(context.Background(), keys, func(tats []int64) []int64 {
						ok = false
						if tats[0] != tats[1] {
							t.Errorf("the two buckets drifted apart: %v", tats)
						}
						if tats[0] >= budget {
							return nil
						}
						ok = true
						return []int64{tats[0] + 1, tats[1] + 1}
					})
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						spent++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if spent != budget {
				t.Fatalf("%d attempts spent a budget of %d", spent, budget)
			}
		})
	}
}

func TestLoginFamiliarAndPurge(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.RememberLogin(ctx, "alice", "192.0.2.1", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberLogin(ctx, "alice", "192.0.2.1", t0.Add(time.Hour)); err != nil { // again: updated
			t.Fatal(err)
		}
		for _, tc := range []struct {
			user, addr string
			want       time.Time
			ok         bool
		}{
			{"alice", "192.0.2.1", t0.Add(time.Hour), true},
			{"alice", "192.0.2.2", time.Time{}, false},
			{"Alice", "192.0.2.1", time.Time{}, false},
			{string(make([]byte, 300)), "192.0.2.1", time.Time{}, false},
		} {
			if got, ok, err := s.LastLogin(ctx, tc.user, tc.addr); err != nil || ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("LastLogin(%.10q, %q) = %v, %v, %v; want %v, %v", tc.user, tc.addr, got, ok, err, tc.want, tc.ok)
			}
		}
		err := s.UpdateLoginBuckets(ctx, []string{"old", "new"}, func([]int64) []int64 {
			return []int64{t0.UnixMicro(), t0.Add(time.Hour).UnixMicro()}
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeLogins(ctx, t0.Add(time.Minute), t0.Add(2*time.Hour))
		if err != nil || n != 2 { // the bucket "old" and alice's address
			t.Fatalf("PurgeLogins = %d, %v; want 2", n, err)
		}
		if _, ok, _ := s.LastLogin(ctx, "alice", "192.0.2.1"); ok {
			t.Error("a purged address is still familiar")
		}
	})
}

func TestEndSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := &domain.User{Username: "ses", PasswordHash: "h"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		status := func(jti string, epoch int64) domain.TokenStatus {
			t.Helper()
			_, st, err := s.TokenStatus(ctx, "ses", jti, epoch)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		if st := status("a", 0); st.Revoked || st.Epoch != 0 {
			t.Fatalf("fresh user: %+v", st)
		}
		if e, err := s.EndSessions(ctx, u.ID, "a"); err != nil || e != 1 {
			t.Fatalf("EndSessions = %d, %v", e, err)
		}
		for _, tc := range []struct {
			jti         string
			epoch       int64
			wantRevoked bool
			wantEpoch   int64
		}{
			{"a", 0, false, 1}, // kept: its renewals join the new epoch
			{"b", 0, true, 0},
			{"b", 1, false, 1},
		} {
			if st := status(tc.jti, tc.epoch); st.Revoked != tc.wantRevoked || (!st.Revoked && st.Epoch != tc.wantEpoch) {
				t.Errorf("token %s at epoch %d: %+v", tc.jti, tc.epoch, st)
			}
		}
		if e, err := s.EndSessions(ctx, u.ID, ""); err != nil || e != 2 {
			t.Fatalf("EndSessions = %d, %v", e, err)
		}
		if st := status("a", 0); !st.Revoked {
			t.Error("the kept token outlived the next ending of all sessions")
		}
		if e, err := s.SessionEpoch(ctx, u.ID); err != nil || e != 2 {
			t.Errorf("SessionEpoch = %d, %v", e, err)
		}
		if _, err := s.EndSessions(ctx, u.ID+1000, ""); !domain.IsKind(err, domain.NotFound) {
			t.Errorf("missing user: %v, want NotFound", err)
		}
		if err := s.DeleteUser(ctx, "ses"); err != nil {
			t.Fatal(err)
		}
	})
}
