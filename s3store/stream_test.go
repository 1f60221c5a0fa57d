package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/internal/s3test"
)

// failAtEnd gives its bytes, then err instead of io.EOF: a validating
// reader (impl's dzchunksha256 check) failing at the chunk's end.
type failAtEnd struct {
	r   io.Reader
	err error
}

func (f *failAtEnd) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestStoreStreamRefusesWrongLength: a chunk of announced size that ends
// short, runs long, or fails its caller's check at its end is refused,
// and S3 keeps nothing of it: no staged object, no multipart part. Then
// a right one goes through, into a blob that is byte for byte the file.
func TestStoreStreamRefusesWrongLength(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	badSum := domain.Errorf(domain.Invalid, "checksum mismatch")
	for _, n := range []int{6 * MiB, MiB} { // a multipart part; a staged chunk
		h, err := s.Begin(ctx)
		must(t, err)
		hd, _ := parseHandle(h)
		data := randBytes(uint64(n), n)
		for _, tc := range []struct {
			name string
			r    io.Reader
			want error // nil: any Invalid
		}{
			{"short", bytes.NewReader(data[:n-10]), nil},
			{"long", io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{1})), nil},
			{"fails at its end", &failAtEnd{bytes.NewReader(data), badSum}, badSum},
		} {
			_, err := s.Put(ctx, h, 0, tc.r, int64(n), 0)
			if tc.want != nil && !errors.Is(err, tc.want) || !domain.IsKind(err, domain.Invalid) {
				t.Fatalf("%d bytes, %s: got %v, want an Invalid error", n, tc.name, err)
			}
			staged, err := s.core.ListObjectsV2(s.bucket, s.prefix+"chunks/", "", "", "", 10)
			must(t, err)
			parts, err := s.core.ListObjectParts(ctx, s.bucket, s.blobKey(hd.id), hd.uploadID, 0, 10)
			must(t, err)
			if len(staged.Contents) != 0 || len(parts.ObjectParts) != 0 {
				t.Fatalf("%d bytes, %s: S3 kept %d staged objects and %d parts", n, tc.name, len(staged.Contents), len(parts.ObjectParts))
			}
		}
		if _, err := s.Put(ctx, h, 0, bytes.NewReader(data), int64(n), int64(n-1)); !domain.IsKind(err, domain.TooLarge) {
			t.Fatalf("announced size over the chunk limit: %v", err)
		}
		if _, _, err := s.Append(ctx, h, 0, blob.Stream{Len: 10}, bytes.NewReader(data), int64(n), 0, int64(n)); !domain.IsKind(err, domain.TooLarge) {
			t.Fatalf("announced size over the file limit: %v", err)
		}
		p, hs, err := s.Append(ctx, h, 0, blob.Stream{}, bytes.NewReader(data), int64(n), 0, 0)
		must(t, err)
		b, err := s.Complete(ctx, h, []blob.Part{p}, blob.Stream{Len: p.Size, Hash: hs}, 0)
		must(t, err)
		if b.Size != int64(n) || b.SHA256 != sum(data) {
			t.Fatalf("blob %+v, want %d bytes, sha %s", b, n, sum(data))
		}
		must(t, s.Remove(ctx, h, p.ID, b.ID))
	}
}

// TestExactHoldsBackTheEnd: blob.Exact never hands over the bytes that
// complete the announced size before it knows the source ends there.
func TestExactHoldsBackTheEnd(t *testing.T) {
	long := blob.Exact(bytes.NewReader([]byte("abcdef")), 5)
	got, err := io.ReadAll(long)
	if !domain.IsKind(err, domain.Invalid) || len(got) == 5 {
		t.Fatalf("long: %q, %v", got, err)
	}
	short := blob.Exact(bytes.NewReader([]byte("abc")), 5)
	if got, err := io.ReadAll(short); !domain.IsKind(err, domain.Invalid) || len(got) != 3 {
		t.Fatalf("short: %q, %v", got, err)
	}
	ok := blob.Exact(bytes.NewReader([]byte("abcde")), 5)
	if got, err := io.ReadAll(ok); err != nil || string(got) != "abcde" {
		t.Fatalf("exact: %q, %v", got, err)
	}
	empty := blob.Exact(bytes.NewReader(nil), 0)
	if got, err := io.ReadAll(empty); err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
	if _, err := io.ReadAll(blob.Exact(bytes.NewReader([]byte("x")), 0)); !domain.IsKind(err, domain.Invalid) {
		t.Fatalf("empty but one byte: %v", err)
	}
}
