package db

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

const asmID = "0123456789abcdef0123456789abcdef"

func takeLease(t *testing.T, s *Store, uploadID int64, index int) *domain.Append {
	t.Helper()
	l, ok, err := s.TakeAppendLease(ctx, uploadID, index, asmID)
	must(t, err)
	if !ok {
		t.Fatalf("no append lease for chunk %d", index)
	}
	return l
}

func noLease(t *testing.T, s *Store, uploadID int64, index int, why string) {
	t.Helper()
	l, ok, err := s.TakeAppendLease(ctx, uploadID, index, "ffffffffffffffffffffffffffffffff")
	must(t, err)
	if ok {
		t.Fatalf("%s: got a lease %+v", why, l)
	}
}

// TestAppendBookkeeping: next_index and assembled_len move with each
// committed append; chunk rows point into the assembly; out-of-order chunks,
// re-sends and replacements keep the books straight; completion reports
// the assembly.
func TestAppendBookkeeping(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 4)
		noLease(t, s, up.ID, 1, "chunk 1 before chunk 0")

		l := takeLease(t, s, up.ID, 0)
		if l.Offset != 0 || l.Index != 0 || l.AssemblyID != asmID {
			t.Fatalf("first lease %+v", l)
		}
		noLease(t, s, up.ID, 0, "lease held")
		old, err := s.CommitAppend(ctx, l, 100, nil)
		must(t, err)
		if old != "" {
			t.Fatalf("first append replaced %q", old)
		}
		// The assembly id is kept; the offset moves on.
		l, ok, err := s.TakeAppendLease(ctx, up.ID, 1, "ffffffffffffffffffffffffffffffff")
		must(t, err)
		if !ok || l.Offset != 100 || l.AssemblyID != asmID {
			t.Fatalf("second lease %+v %v", l, ok)
		}
		// A released lease records nothing.
		must(t, s.ReleaseAppend(ctx, l))
		l = takeLease(t, s, up.ID, 1)
		if l.Offset != 100 {
			t.Fatalf("offset after a released append: %d", l.Offset)
		}
		_, err = s.CommitAppend(ctx, l, 50, nil)
		must(t, err)

		// Chunk 3 arrives out of order as a file; chunk 2 is then appended.
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 3, FileID: "f-3", Size: 7})
		must(t, err)
		noLease(t, s, up.ID, 3, "chunk 3 is not next")
		// Chunk 2 is first stored as a file too, then appended: the
		// append replaces it and hands back the file.
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 2, FileID: "f-2", Size: 9})
		must(t, err)
		if _, ok, _ := s.ClaimUpload(ctx, up.ID); !ok {
			t.Fatal("complete upload not claimed")
		}
		must(t, s.ReleaseCompletion(ctx, up.ID))
		l = takeLease(t, s, up.ID, 2)
		// While a lease is held, the upload is not claimed.
		if _, ok, err := s.ClaimUpload(ctx, up.ID); err != nil || ok {
			t.Fatalf("claimed while an append runs: %v %v", ok, err)
		}
		old, err = s.CommitAppend(ctx, l, 30, nil)
		must(t, err)
		if old != "f-2" {
			t.Fatalf("append over a chunk file replaced %q, want f-2", old)
		}

		// Re-sending an appended chunk as a file replaces it without
		// handing back the assembly.
		old, err = s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 1, FileID: "f-1", Size: 60})
		must(t, err)
		if old != "" {
			t.Fatalf("replacing an appended chunk handed back %q", old)
		}

		c, ok, err := s.ClaimUpload(ctx, up.ID)
		must(t, err)
		if !ok {
			t.Fatal("not claimed")
		}
		if c.AssemblyID != asmID || c.AssembledLen != 180 {
			t.Fatalf("completion %+v, want assembly %s of 180 bytes", c, asmID)
		}
		want := []domain.Chunk{
			{UploadID: up.ID, Index: 0, FileID: asmID, Size: 100, InAssembly: true, Offset: 0},
			{UploadID: up.ID, Index: 1, FileID: "f-1", Size: 60},
			{UploadID: up.ID, Index: 2, FileID: asmID, Size: 30, InAssembly: true, Offset: 150},
			{UploadID: up.ID, Index: 3, FileID: "f-3", Size: 7},
		}
		for i, ch := range c.Chunks {
			if ch != want[i] {
				t.Errorf("chunk %d = %+v, want %+v", i, ch, want[i])
			}
		}
		// Claimed: no lease.
		noLease(t, s, up.ID, 3, "being completed")

		// Everything to delete: the chunk files and the assembly, once.
		files, err := s.DeleteUpload(ctx, up.ID)
		must(t, err)
		if len(files) != 3 || files[0] != "f-1" || files[1] != "f-3" || files[2] != asmID {
			t.Fatalf("DeleteUpload files = %v", files)
		}
		_, _, err = s.TakeAppendLease(ctx, up.ID, 0, asmID)
		wantKind(t, err, domain.NotFound)
	})
}

// TestAppendReferences: an upload's assembly file is referenced from the
// moment it is named, and listed when the upload or its share goes.
func TestAppendReferences(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 2)
		l := takeLease(t, s, up.ID, 0)
		ref, err := s.FileReferenced(ctx, asmID)
		must(t, err)
		if !ref {
			t.Fatal("the assembly file is not referenced while its first append runs")
		}
		_, err = s.CommitAppend(ctx, l, 5, nil)
		must(t, err)
		files, err := s.DeleteShare(ctx, up.ShareID)
		must(t, err)
		if len(files) != 1 || files[0] != asmID {
			t.Fatalf("DeleteShare files = %v, want the assembly", files)
		}
		if ref, _ := s.FileReferenced(ctx, asmID); ref {
			t.Fatal("still referenced after the share went")
		}
		_, err = s.CommitAppend(ctx, l, 5, nil)
		wantKind(t, err, domain.NotFound)

		// FinishUpload forgets the upload; the caller removes the assembly.
		up = mkUpload(t, s, 2, 1)
		l = takeLease(t, s, up.ID, 0)
		_, err = s.CommitAppend(ctx, l, 5, nil)
		must(t, err)
		c, ok, err := s.ClaimUpload(ctx, up.ID)
		if err != nil || !ok || c.AssemblyID != asmID {
			t.Fatalf("claim %+v %v %v", c, ok, err)
		}
		_, err = s.FinishUpload(ctx, up.ID, up.ShareID, domain.Blob{ID: "blob-2", Size: 5}, t0)
		must(t, err)
		if ref, _ := s.FileReferenced(ctx, asmID); ref {
			t.Fatal("assembly still referenced after FinishUpload")
		}
	})
}

// TestAppendLeaseRace: of many requests for the same next chunk, one gets
// the lease.
func TestAppendLeaseRace(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 2)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*domain.Append
		for range 16 {
			wg.Go(func() {
				l, ok, err := s.TakeAppendLease(ctx, up.ID, 0, asmID)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won = append(won, l)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("%d leases, want 1", len(won))
		}
	})
}

// TestLateUnlistKeepsNextLease: a request ends its lease, and another
// request of this Store takes the next one; a late, second ending of the
// first (a request that could not tell whether it had ended it) must
// leave that one listed and, in MySQL, locked, or a third request (or
// another process) takes it over and its commit fails
// (TestUploadConcurrent/resent_chunks_concurrently met this in CI).
func TestLateUnlistKeepsNextLease(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			s := openStore(t, dsn)
			must(t, s.Migrate(ctx))
			up := mkUpload(t, s, 1, 2)
			first := takeLease(t, s, up.ID, 0)
			must(t, s.ReleaseAppend(ctx, first))
			second := takeLease(t, s, up.ID, 0)
			s.endLease(up.ID, first.Gen) // the first request's late unlisting
			noLease(t, s, up.ID, 0, "the second request's lease is live")
			if d == DialectMySQL {
				other := openStore(t, dsn)
				noLease(t, other, up.ID, 0, "the second request's lease is live, for another process too")
			}
			_, err := s.CommitAppend(ctx, second, 10, nil)
			must(t, err)
		})
	}
}

// TestStaleAppendLease: a lease whose holder died (another Store, closed),
// or whose request ended without releasing it (this Store), is taken over;
// the old holder can no longer commit.
func TestStaleAppendLease(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			must(t, a.Migrate(ctx))
			up := mkUpload(t, a, 1, 3)
			la := takeLease(t, a, up.ID, 0)
			b := openStore(t, dsn)
			if d == DialectMySQL {
				noLease(t, b, up.ID, 0, "a's process lives")
				if _, ok, err := b.ClaimUpload(ctx, up.ID); err != nil || ok {
					t.Fatalf("claim during a live lease: %v %v", ok, err)
				}
			}
			must(t, a.Close()) // a dies mid-append

			lb := takeLease(t, b, up.ID, 0)
			if lb.Offset != 0 || lb.AssemblyID != asmID {
				t.Fatalf("taken-over lease %+v", lb)
			}
			_, err := b.CommitAppend(ctx, lb, 10, nil)
			must(t, err)

			// This Store's own lease, left behind by a request that could
			// not release it (the in-memory mark is gone), is stale too.
			l1 := takeLease(t, b, up.ID, 1)
			b.endLease(up.ID, l1.Gen)
			l1b := takeLease(t, b, up.ID, 1)
			// The first holder's commit no longer matches once the
			// second has committed.
			_, err = b.CommitAppend(ctx, l1b, 20, nil)
			must(t, err)
			_, err = b.CommitAppend(ctx, l1, 20, nil)
			wantKind(t, err, domain.Unavailable)
			_ = la

			l2 := takeLease(t, b, up.ID, 2)
			_, err = b.CommitAppend(ctx, l2, 3, nil)
			must(t, err)
			c, ok, err := b.ClaimUpload(ctx, up.ID)
			must(t, err)
			if !ok || c.AssembledLen != 33 || len(c.Chunks) != 3 || c.Chunks[2].Offset != 30 {
				t.Fatalf("claim after takeovers: %+v %v", c, ok)
			}
		})
	}
}

// TestDeleteStaleAssembly: cleanup lists the assembly files of the stale
// uploads it deletes, and spares an upload whose append began recently.
func TestDeleteStaleAssembly(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		clk := useClock(s, t0)
		up := mkUpload(t, s, 1, 3)
		l := takeLease(t, s, up.ID, 0)
		_, err := s.CommitAppend(ctx, l, 10, nil)
		must(t, err)
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 2, FileID: "f-2", Size: 1})
		must(t, err)
		// Another old upload, whose (second) append starts now.
		busy := mkUpload(t, s, 2, 3)
		l = takeLease(t, s, busy.ID, 0)
		_, err = s.CommitAppend(ctx, l, 10, nil)
		must(t, err)
		clk.Add(25 * time.Hour)
		lb := takeLease(t, s, busy.ID, 1)

		files, err := s.DeleteStale(ctx, t0.Add(24*time.Hour))
		must(t, err)
		slices.Sort(files)
		if want := []string{asmID, "f-2"}; !slices.Equal(files, want) {
			t.Fatalf("DeleteStale files = %v, want %v", files, want)
		}
		_, err = s.CommitAppend(ctx, lb, 5, nil)
		must(t, err)
	})
}

// TestAppendHashState: the hash state saved with an append comes back with
// the next lease and with the completion.
func TestAppendHashState(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 2)
		l := takeLease(t, s, up.ID, 0)
		if l.HashState != nil {
			t.Fatalf("first lease has a hash state %x", l.HashState)
		}
		state := []byte("sha\x03 state \x00\xff of 10 bytes")
		_, err := s.CommitAppend(ctx, l, 10, state)
		must(t, err)
		l = takeLease(t, s, up.ID, 1)
		if string(l.HashState) != string(state) {
			t.Fatalf("lease hash state %q, want %q", l.HashState, state)
		}
		state2 := []byte("state of 15 bytes")
		_, err = s.CommitAppend(ctx, l, 5, state2)
		must(t, err)
		c, ok, err := s.ClaimUpload(ctx, up.ID)
		must(t, err)
		if !ok || string(c.HashState) != string(state2) || c.AssembledLen != 15 {
			t.Fatalf("completion %+v %v", c, ok)
		}
	})
}

// TestLeaseExcludesClaim: while a live request appends a re-sent chunk to
// a complete upload, no completion claim is taken, by this process or (in
// MySQL) another; and while a claim is held, no lease is. Taking a lease
// writes no row, so this rests on the leases list and the named lock.
func TestLeaseExcludesClaim(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			must(t, a.Migrate(ctx))
			up := mkUpload(t, a, 1, 2)
			for i := range 2 {
				_, err := a.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: i, FileID: "f-" + string(rune('0'+i)), Size: 1})
				must(t, err)
			}
			others := []*Store{a}
			if d == DialectMySQL {
				others = append(others, openStore(t, dsn))
			}
			l := takeLease(t, a, up.ID, 0)
			for _, o := range others {
				if _, ok, err := o.ClaimUpload(ctx, up.ID); err != nil || ok {
					t.Fatalf("claimed during a live lease: %v %v", ok, err)
				}
			}
			_, err := a.CommitAppend(ctx, l, 1, nil)
			must(t, err)
			claimer := others[len(others)-1]
			if _, ok, err := claimer.ClaimUpload(ctx, up.ID); err != nil || !ok {
				t.Fatalf("not claimed once the lease ended: %v %v", ok, err)
			}
			// Chunk 1 is next in the stream now, but the claim holds.
			noLease(t, a, up.ID, 1, "claim held")
		})
	}
}
