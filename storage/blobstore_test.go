package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sachet-server/sachet/blob"
)

// TestBlobsComplete checks that the filesystem blob.Store joins each
// arrangement of parts right, and the cheap way where there is one: the
// in-order prefix is linked, never copied.
func TestBlobsComplete(t *testing.T) {
	ctx := context.Background()
	data := [][]byte{bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 2000), bytes.Repeat([]byte("c"), 500)}
	for _, tc := range []struct {
		name     string
		appended []bool // per chunk: appended in order, or put on its own
		linked   bool   // the blob is the assembly file's inode
	}{
		{"all put", []bool{false, false, false}, false},
		{"all appended", []bool{true, true, true}, true},
		{"appended prefix, rest put", []bool{true, false, false}, true},
		{"put then appended", []bool{false, true, true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			b := fs.Store()
			h, err := b.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var parts []blob.Part
			var s blob.Stream
			for i, d := range data {
				var p blob.Part
				if tc.appended[i] {
					p, s.Hash, err = b.Append(ctx, h, i, s, bytes.NewReader(d), int64(len(d)), 0, 0)
					s.Len += p.Size
				} else {
					p, err = b.Put(ctx, h, i, bytes.NewReader(d), -1, 0)
				}
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, p)
			}
			got, err := b.Complete(ctx, h, parts, s, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Join(data, nil)
			sum := sha256.Sum256(want)
			if got.Size != int64(len(want)) || got.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("blob %+v, want %d bytes, sha256 %x", got, len(want), sum)
			}
			r, size, err := b.Open(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, ok := r.(*os.File); !ok || size != int64(len(want)) {
				t.Fatalf("Open: %T, size %d: want an *os.File (sendfile) of %d bytes", r, size, len(want))
			}
			if read, _ := io.ReadAll(r); !bytes.Equal(read, want) {
				t.Fatal("the blob's bytes differ")
			}
			bi, _ := os.Stat(filepath.Join(fs.blobs, got.ID))
			ai, err := os.Stat(filepath.Join(fs.assembly, h))
			linked := err == nil && os.SameFile(bi, ai)
			if linked != tc.linked {
				t.Errorf("blob linked to the assembly file: %v, want %v", linked, tc.linked)
			}
			// The caller removes the handle and the parts once the blob is
			// recorded; the blob stays.
			ids := []string{h}
			for _, p := range parts {
				ids = append(ids, p.ID)
			}
			if err := b.Remove(ctx, ids...); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{fs.chunks, fs.assembly} {
				if ents, _ := os.ReadDir(d); len(ents) != 0 {
					t.Errorf("%s holds %d files after removal", d, len(ents))
				}
			}
			if _, err := os.Stat(filepath.Join(fs.blobs, got.ID)); err != nil {
				t.Errorf("the blob went with its parts: %v", err)
			}
		})
	}
}
