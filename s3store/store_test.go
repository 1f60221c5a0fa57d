package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/internal/s3test"
)

const bucket = "sachet"

func newStore(t *testing.T, srv *s3test.Server) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{
		Bucket: bucket, Prefix: "p/", Endpoint: srv.Endpoint, PathStyle: true,
		SpoolDir: t.TempDir(), Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""),
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const MiB = 1 << 20

// TestStoreUploads: the layouts an upload can take each complete into a
// blob that is byte for byte the file, with its true SHA-256, whatever the
// path completion takes.
func TestStoreUploads(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	cases := []struct {
		name   string
		sizes  []int
		append bool  // sent in order through Append
		order  []int // Put order when not appended (default: reverse)
		early  []int // chunks Put before their upload was known (handle "")
		what   string
	}{
		{name: "big chunks in order", sizes: []int{6 * MiB, 6 * MiB, 1 * MiB}, append: true, what: "parts, hash from the stream"},
		{name: "big chunks out of order", sizes: []int{5 * MiB, 7 * MiB, 5*MiB + 3}, what: "parts, hash read back"},
		{name: "small chunks (Dropzone)", sizes: []int{MiB, MiB, MiB, MiB, MiB, MiB, 300}, what: "staged, joined, hashed on the way"},
		{name: "small chunks in order", sizes: []int{2 * MiB, 2 * MiB, 100}, append: true, what: "staged, hash from the stream"},
		{name: "one small chunk", sizes: []int{1234}},
		{name: "empty file", sizes: []int{0}},
		{name: "small run between parts", sizes: []int{6 * MiB, MiB, 6 * MiB, 10}, what: "rebuild"},
		{name: "big chunk staged early", sizes: []int{6 * MiB, 6 * MiB, 2}, early: []int{1}, what: "staged big chunk streamed as its part"},
	}
	for _, mode := range []string{"spooled", "streamed"} {
		// streamed: the caller knows each chunk's size, so it goes straight
		// into its S3 request; spooled: it does not, and the chunk is
		// spooled first.
		sizeOf := func(b []byte) int64 {
			if mode == "streamed" {
				return int64(len(b))
			}
			return -1
		}
		for i, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				var data []byte
				chunks := make([][]byte, len(tc.sizes))
				for j, n := range tc.sizes {
					chunks[j] = randBytes(uint64(i*100+j), n)
					data = append(data, chunks[j]...)
				}
				h, err := s.Begin(ctx)
				must(t, err)
				parts := make([]blob.Part, len(chunks))
				var st blob.Stream
				if tc.append {
					for j, c := range chunks {
						p, hs, err := s.Append(ctx, h, j, st, bytes.NewReader(c), sizeOf(c), 0, 0)
						must(t, err)
						if !p.Appended || p.Offset != st.Len || p.Size != int64(len(c)) {
							t.Fatalf("append %d: %+v", j, p)
						}
						parts[j] = p
						st = blob.Stream{Len: st.Len + p.Size, Hash: hs}
					}
				} else {
					order := tc.order
					if order == nil {
						for j := len(chunks) - 1; j >= 0; j-- {
							order = append(order, j)
						}
					}
					early := map[int]bool{}
					for _, j := range tc.early {
						early[j] = true
					}
					for _, j := range order {
						hh, idx := h, j
						if early[j] {
							hh, idx = "", -1
						}
						p, err := s.Put(ctx, hh, idx, bytes.NewReader(chunks[j]), sizeOf(chunks[j]), 0)
						must(t, err)
						p.Index = j
						parts[j] = p
					}
				}
				b, err := s.Complete(ctx, h, parts, st, 0)
				must(t, err)
				if b.Size != int64(len(data)) || b.SHA256 != sum(data) {
					t.Fatalf("blob %+v, want size %d sha %s", b, len(data), sum(data))
				}
				r, size, err := s.Open(ctx, b.ID)
				must(t, err)
				got, err := io.ReadAll(r)
				r.Close()
				must(t, err)
				if size != int64(len(data)) || !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes (size %d), want the %d uploaded", len(got), size, len(data))
				}
				// The caller's clean-up after recording the blob.
				ids := []string{h}
				for _, p := range parts {
					ids = append(ids, p.ID)
				}
				must(t, s.Remove(ctx, ids...))
				must(t, s.Remove(ctx, b.ID))
				if _, _, err := s.Open(ctx, b.ID); !domain.IsKind(err, domain.NotFound) {
					t.Fatalf("removed blob opened: %v", err)
				}
			})
		}
	}
}

// TestStoreLimits: chunk and file limits are TooLarge, and nothing stays.
func TestStoreLimits(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	h, err := s.Begin(ctx)
	must(t, err)
	if _, err := s.Put(ctx, h, 0, bytes.NewReader(make([]byte, 101)), -1, 100); !domain.IsKind(err, domain.TooLarge) {
		t.Fatalf("chunk over the limit: %v", err)
	}
	if _, _, err := s.Append(ctx, h, 0, blob.Stream{Len: 0}, bytes.NewReader(make([]byte, 60)), -1, 100, 50); !domain.IsKind(err, domain.TooLarge) {
		t.Fatalf("file over the limit: %v", err)
	}
	p, err := s.Put(ctx, h, 0, bytes.NewReader(make([]byte, 60)), -1, 100)
	must(t, err)
	if _, err := s.Complete(ctx, h, []blob.Part{p}, blob.Stream{}, 50); !domain.IsKind(err, domain.TooLarge) {
		t.Fatalf("complete over the limit: %v", err)
	}
	must(t, s.Remove(ctx, h, p.ID))
}

// TestStoreRanges: http.ServeContent over Open's reader answers ranges,
// suffixes, multipart ranges and conditionals as over a file.
func TestStoreRanges(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	data := randBytes(7, 3*MiB+17)
	h, err := s.Begin(ctx)
	must(t, err)
	p, err := s.Put(ctx, h, 0, bytes.NewReader(data), -1, 0)
	must(t, err)
	b, err := s.Complete(ctx, h, []blob.Part{p}, blob.Stream{}, 0)
	must(t, err)
	must(t, s.Remove(ctx, h, p.ID))
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd, _, err := s.Open(r.Context(), b.ID)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer rd.Close()
		w.Header().Set("ETag", `"x"`)
		http.ServeContent(w, r, "f.bin", mod, rd)
	}))
	defer hs.Close()
	n := len(data)
	for _, tc := range []struct {
		rng    string
		status int
		want   []byte
	}{
		{"", 200, data},
		{"bytes=0-0", 206, data[:1]},
		{"bytes=1000-2000", 206, data[1000:2001]},
		{"bytes=-5", 206, data[n-5:]},
		{"bytes=3145728-", 206, data[3145728:]},
		{"bytes=-99999999", 206, data},
		{"bytes=99999999-", 416, nil},
	} {
		req, _ := http.NewRequest("GET", hs.URL, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.want != nil && !bytes.Equal(got, tc.want)) {
			t.Errorf("Range %q: %d, %d bytes; want %d, %d bytes", tc.rng, resp.StatusCode, len(got), tc.status, len(tc.want))
		}
	}
	req, _ := http.NewRequest("GET", hs.URL, nil)
	req.Header.Set("Range", "bytes=0-9,100-109")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || resp.Header.Get("Content-Type")[:len("multipart/byteranges")] != "multipart/byteranges" {
		t.Errorf("two ranges: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ = http.NewRequest("GET", hs.URL, nil)
	req.Header.Set("If-None-Match", `"x"`)
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
}

// TestStoreSweep: orphans older than the age go, referenced ones and young
// ones stay; an unreferenced multipart upload is aborted.
func TestStoreSweep(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	keep, err := s.Put(ctx, "", -1, bytes.NewReader([]byte("keep")), -1, 0)
	must(t, err)
	orphan, err := s.Put(ctx, "", -1, bytes.NewReader([]byte("orphan")), -1, 0)
	must(t, err)
	orphanUp, err := s.Begin(ctx)
	must(t, err)
	liveUp, err := s.Begin(ctx)
	must(t, err)
	refs := map[string]bool{keep.ID: true, liveUp: true}
	asked := map[string]bool{}
	referenced := func(_ context.Context, id string) (bool, error) { asked[id] = true; return refs[id], nil }

	n, err := s.Sweep(ctx, time.Now().Add(-time.Hour), referenced)
	must(t, err)
	if n != 0 {
		t.Fatalf("swept %d young objects", n)
	}
	n, err = s.Sweep(ctx, time.Now().Add(time.Minute), referenced)
	must(t, err)
	if n != 2 || !asked[orphan.ID] || !asked[orphanUp] || !asked[keep.ID] {
		t.Fatalf("swept %d (asked %v), want the orphan chunk and upload", n, asked)
	}
	if err := s.Writable(ctx); err != nil {
		t.Fatal(err)
	}
	// The orphan upload is gone: a part for it is refused, so staged.
	p, err := s.Put(ctx, orphanUp, 0, bytes.NewReader(make([]byte, 6*MiB)), -1, 0)
	must(t, err)
	if _, ok := stagedID(p.ID); !ok {
		t.Fatalf("a chunk for an aborted upload: %+v, want it staged", p)
	}
	if _, err := s.Complete(ctx, orphanUp, []blob.Part{p}, blob.Stream{}, 0); !domain.IsKind(err, domain.NotFound) {
		t.Fatalf("completing an aborted upload: %v, want NotFound", err)
	}
}

// TestStoreUnavailable: with S3 gone every call is Unavailable (503)
// within seconds, and the store works again when S3 is back.
func TestStoreUnavailable(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	h, err := s.Begin(ctx)
	must(t, err)
	srv.Stop()
	if _, err := s.Put(ctx, h, 0, bytes.NewReader(make([]byte, 1000)), -1, 0); !domain.IsKind(err, domain.Unavailable) {
		t.Fatalf("put with S3 down: %v", err)
	}
	if _, err := s.Begin(ctx); !domain.IsKind(err, domain.Unavailable) {
		t.Fatalf("begin with S3 down: %v", err)
	}
	if _, _, err := s.Open(ctx, newID()); !domain.IsKind(err, domain.Unavailable) {
		t.Fatalf("open with S3 down: %v", err)
	}
	if err := s.Writable(ctx); !domain.IsKind(err, domain.Unavailable) {
		t.Fatalf("writable with S3 down: %v", err)
	}
	srv.Restart()
	p, err := s.Put(ctx, h, 0, bytes.NewReader([]byte("back")), -1, 0)
	must(t, err)
	b, err := s.Complete(ctx, h, []blob.Part{p}, blob.Stream{}, 0)
	must(t, err)
	if b.SHA256 != sum([]byte("back")) {
		t.Fatalf("after the outage: %+v", b)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://b/x/y", "b", "x/y/"},
		{"s3://b/x/", "b", "x/"},
	} {
		b, p, err := ParseURL(tc.in)
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("%s: %q %q %v", tc.in, b, p, err)
		}
	}
	for _, bad := range []string{"s3://", "s3:///x", "http://b/x", "s3://b?x=1", "b/x"} {
		if _, _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestStoreCompleteAgain: a completion whose result was never recorded
// (the process died after S3 completed the multipart upload) is completed
// again with the same parts, the last one re-sent and so staged: the
// object S3 made is taken over. With other bytes in the re-sent chunk it
// is not: the upload is consumed (NotFound).
func TestStoreCompleteAgain(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	for _, same := range []bool{true, false} {
		c0, c1 := randBytes(1, 5*MiB), randBytes(2, 2*MiB+5)
		data := append(append([]byte{}, c0...), c1...)
		h, err := s.Begin(ctx)
		must(t, err)
		p0, err := s.Put(ctx, h, 0, bytes.NewReader(c0), -1, 0)
		must(t, err)
		p1, err := s.Put(ctx, h, 1, bytes.NewReader(c1), -1, 0)
		must(t, err)
		b, err := s.Complete(ctx, h, []blob.Part{p0, p1}, blob.Stream{}, 0)
		must(t, err)
		// The re-sent last chunk: the upload is gone, so it is staged.
		again := c1
		if !same {
			again = randBytes(3, len(c1))
		}
		p1b, err := s.Put(ctx, h, 1, bytes.NewReader(again), -1, 0)
		must(t, err)
		b2, err := s.Complete(ctx, h, []blob.Part{p0, p1b}, blob.Stream{}, 0)
		if !same {
			if !domain.IsKind(err, domain.NotFound) {
				t.Fatalf("completed again with other bytes: %+v, %v; want NotFound", b2, err)
			}
			continue
		}
		must(t, err)
		if sum := sha256.Sum256(data); b2 != b || b2.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("completed again: %+v, first %+v", b2, b)
		}
	}
}
