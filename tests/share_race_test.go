package tests

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestShareRenameRacingTransfer: an owner's renames racing the owner's
// transfer of the share never undo the transfer. A rename judged while the
// old owner still owned the share must not write that owner back (nor land
// afterwards as if the old owner still had the right).
func TestShareRenameRacingTransfer(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice := s.user("racer", "CREATE", "MODIFY", "READ")
		s.user("heir")
		const shares, renamers = 8, 6
		ids := make([]string, shares)
		for i := range ids {
			ids[i] = s.newShare(alice, "r.txt")
		}
		var wg sync.WaitGroup
		for _, id := range ids {
			started := make(chan struct{}, renamers)
			var transferred atomic.Bool
			for g := range renamers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; ; n++ {
						// Read before sending: a rename sent after the transfer
						// answered is the last one this goroutine sends.
						last := transferred.Load()
						body := fmt.Appendf(nil, `{"file_name":"r%d-%d.txt"}`, g, n)
						r, err := s.try("PATCH", "/files/"+id, alice, "application/json", body)
						if err != nil {
							t.Error(err)
							return
						}
						if n == 0 {
							started <- struct{}{}
						}
						switch {
						case r.Status == 403:
							return // the share is the heir's now
						case r.Status != 200:
							t.Errorf("rename: status %d: %s", r.Status, r.Body)
							return
						case last:
							return
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				timeout := time.After(time.Minute)
				for range renamers {
					select {
					case <-started: // every renamer is under way
					case <-timeout:
						// A renamer failed before its first answer: give up,
						// and let the others stop (they stop once the
						// transfer is marked done).
						t.Errorf("not every renamer had sent its first rename within a minute")
						transferred.Store(true)
						return
					}
				}
				r, err := s.try("PATCH", "/files/"+id, alice, "application/json", []byte(`{"owner_name":"heir"}`))
				transferred.Store(true)
				if err != nil || r.Status != 200 {
					t.Errorf("transfer: %v status %d: %s", err, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if sh := s.getShare(id); sh.OwnerName == nil || *sh.OwnerName != "heir" {
				t.Errorf("share %s: owner %s after the transfer to heir: a racing rename undid it", id, strp(sh.OwnerName))
			}
		}
	})
}
