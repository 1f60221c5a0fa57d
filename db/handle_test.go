package db

import (
	"slices"
	"testing"

	"github.com/sachet-server/sachet/domain"
)

// TestUploadHandle: the first handle recorded wins, every later caller
// learns it, and GetOrCreateUpload returns it; the lease uses it as the
// assembly id.
func TestUploadHandle(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 2)
		if up.Handle != "" {
			t.Fatalf("a new upload has handle %q", up.Handle)
		}
		got, err := s.SetUploadHandle(ctx, up.ID, "first")
		must(t, err)
		if got != "first" {
			t.Fatalf("SetUploadHandle = %q, want first", got)
		}
		got, err = s.SetUploadHandle(ctx, up.ID, "second")
		must(t, err)
		if got != "first" {
			t.Fatalf("a second SetUploadHandle = %q, want the first one's", got)
		}
		again, err := s.GetOrCreateUpload(ctx, up.ShareID, up.DZUUID, 2)
		must(t, err)
		if again.Handle != "first" {
			t.Fatalf("GetOrCreateUpload: handle %q, want first", again.Handle)
		}
		l, ok, err := s.TakeAppendLease(ctx, up.ID, 0, "ignored")
		must(t, err)
		if !ok || l.AssemblyID != "first" {
			t.Fatalf("lease %+v %v: want the handle as assembly id", l, ok)
		}
		must(t, s.ReleaseAppend(ctx, l))
		if _, err := s.SetUploadHandle(ctx, up.ID+1000, "x"); !domain.IsKind(err, domain.NotFound) {
			t.Fatalf("SetUploadHandle of a missing upload: %v, want NotFound", err)
		}
	})
}

// TestAppendNamedParts: a store that appends by storing parts with names
// of their own (S3) gets those names recorded, returned when replaced, and
// listed for removal with the upload; parts inside the assembly file are
// not.
func TestAppendNamedParts(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 3)
		_, err := s.SetUploadHandle(ctx, up.ID, asmID)
		must(t, err)
		l := takeLease(t, s, up.ID, 0)
		old, err := s.CommitAppendPart(ctx, l, "named-0", 10, nil)
		must(t, err)
		if old != "" {
			t.Fatalf("first append replaced %q", old)
		}
		// Chunk 0 re-sent on its own replaces the named appended part.
		old, err = s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 0, FileID: "put-0", Size: 10})
		must(t, err)
		if old != "named-0" {
			t.Fatalf("re-sent chunk 0 replaced %q, want named-0", old)
		}
		l = takeLease(t, s, up.ID, 1)
		_, err = s.CommitAppendPart(ctx, l, "", 20, nil) // inside the assembly file
		must(t, err)
		l = takeLease(t, s, up.ID, 2)
		_, err = s.CommitAppendPart(ctx, l, "named-2", 30, nil)
		must(t, err)
		c, claimed, err := s.ClaimUpload(ctx, up.ID)
		must(t, err)
		if !claimed {
			t.Fatal("not claimed")
		}
		want := []domain.Chunk{
			{UploadID: up.ID, Index: 0, FileID: "put-0", Size: 10},
			{UploadID: up.ID, Index: 1, FileID: asmID, Size: 20, InAssembly: true, Offset: 10},
			{UploadID: up.ID, Index: 2, FileID: "named-2", Size: 30, InAssembly: true, Offset: 30},
		}
		if !slices.Equal(c.Chunks, want) {
			t.Fatalf("chunks %+v\nwant %+v", c.Chunks, want)
		}
		files, err := s.DeleteUpload(ctx, up.ID)
		must(t, err)
		if w := []string{"put-0", "named-2", asmID}; !slices.Equal(files, w) {
			t.Fatalf("DeleteUpload files %v, want %v", files, w)
		}
	})
}
