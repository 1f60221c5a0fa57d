package db

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLease: two Stores on one database, as two processes would be. Only
// one holds a lease at a time; the holder renews it; it changes hands when
// it runs out or is released; many racers, one winner.
func TestLease(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			must(t, a.Migrate(ctx))
			b := openStore(t, dsn)
			ca, cb := useClock(a, t0), useClock(b, t0)
			take := func(s *Store, want bool, why string) {
				t.Helper()
				got, err := s.TakeLease(ctx, "cleanup", time.Minute)
				must(t, err)
				if got != want {
					t.Fatalf("%s: TakeLease = %v, want %v", why, got, want)
				}
			}
			take(a, true, "free lease")
			take(b, false, "held by a")
			take(a, true, "renewed by its holder")
			ca.Add(50 * time.Second)
			take(a, true, "renewed again before it ran out")
			cb.Add(100 * time.Second) // a's renewal runs to t0+110s
			take(b, false, "renewed lease still live")
			cb.Add(11 * time.Second)
			take(b, true, "run out: taken over")
			ca.Set(cb.Now())
			take(a, false, "lost to b")
			must(t, b.ReleaseLease(ctx, "cleanup"))
			must(t, a.ReleaseLease(ctx, "cleanup")) // not held: no error, no effect
			take(a, true, "released by b")
			take(b, false, "held by a again")

			// Many racers for a fresh lease: exactly one wins.
			var aWon, bWon atomic.Bool
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.TakeLease(ctx, "race", time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok && s == a {
						aWon.Store(true)
					}
					if ok && s == b {
						bWon.Store(true)
					}
				}()
			}
			wg.Wait()
			// The winner's other calls renew and report true too, so it
			// is Stores that are counted: exactly one may have won.
			if aWon.Load() == bWon.Load() {
				t.Fatalf("lease race: a won %v, b won %v; want exactly one", aWon.Load(), bWon.Load())
			}
		})
	}
}
