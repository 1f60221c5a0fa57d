package db

import (
	"strings"
	"testing"

	"github.com/sachet-server/sachet/domain"
)

// TestUploadChecksum: the first whole-file checksum recorded stays; the
// same one again is fine, a different one is Invalid; the claim hands it
// to the completion.
func TestUploadChecksum(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 1)
		sum, other := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
		must(t, s.SetUploadChecksum(ctx, up.ID, sum))
		must(t, s.SetUploadChecksum(ctx, up.ID, sum))
		if err := s.SetUploadChecksum(ctx, up.ID, other); !domain.IsKind(err, domain.Invalid) {
			t.Fatalf("a different checksum: %v, want Invalid", err)
		}
		if err := s.SetUploadChecksum(ctx, up.ID, "short"); !domain.IsKind(err, domain.Invalid) {
			t.Fatalf("a malformed checksum: %v, want Invalid", err)
		}
		if err := s.SetUploadChecksum(ctx, up.ID+1000, sum); !domain.IsKind(err, domain.NotFound) {
			t.Fatalf("a missing upload: %v, want NotFound", err)
		}
		_, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 0, FileID: "c0", Size: 3})
		must(t, err)
		c, ok, err := s.ClaimUpload(ctx, up.ID)
		must(t, err)
		if !ok || c.FileSHA256 != sum {
			t.Fatalf("claim %+v %v: want FileSHA256 %s", c, ok, sum)
		}
	})
}
