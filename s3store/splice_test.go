package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/internal/s3test"
)

// TestSpliceDownloads: WriteNTo serves the same bytes whether it splices
// from S3's connection or copies: the whole object, a range that needs a
// new GET, a short range (copied), a writer without ReadFrom, a store
// with splicing off; many downloads in a row (each spliced one closes its
// S3 connection) and a client that hangs up half way do not disturb the
// next.
func TestSpliceDownloads(t *testing.T) {
	srv := s3test.Start(t, bucket)
	s := newStore(t, srv)
	ctx := context.Background()
	data := randBytes(42, 5*MiB+17)
	h, err := s.Begin(ctx)
	must(t, err)
	p, err := s.Put(ctx, h, 0, bytes.NewReader(data), int64(len(data)), 0)
	must(t, err)
	b, err := s.Complete(ctx, h, []blob.Part{p}, blob.Stream{}, 0)
	must(t, err)
	must(t, s.Remove(ctx, h, p.ID))
	copying, err := Open(ctx, Config{
		Bucket: bucket, Prefix: "p/", Endpoint: srv.Endpoint, PathStyle: true, NoSplice: true,
		SpoolDir: t.TempDir(), Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""),
	})
	must(t, err)

	// The handler serves ?off=&n= of the blob through WriteNTo, as impl's
	// download does (after ServeContent's Seek).
	serve := func(st *Store, plain bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			off, _ := strconv.ParseInt(r.URL.Query().Get("off"), 10, 64)
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			rd, _, err := st.Open(r.Context(), b.ID)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer rd.Close()
			if _, err := rd.Seek(off, io.SeekStart); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			var dst io.Writer = w
			if plain {
				dst = writerOnly{w}
			}
			if m, err := rd.(*rangeReader).WriteNTo(dst, n); err != nil || m != n {
				t.Logf("WriteNTo: %d of %d bytes, %v", m, n, err)
			}
		}))
	}
	get := func(hs *httptest.Server, off, n int) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("%s/?off=%d&n=%d", hs.URL, off, n))
		must(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		must(t, err)
		if !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("bytes [%d, %d): got %d bytes, not the object's", off, off+n, len(got))
		}
	}
	splicing, plain, copyOnly := serve(s, false), serve(s, true), serve(copying, false)
	defer splicing.Close()
	defer plain.Close()
	defer copyOnly.Close()

	for _, tc := range []struct {
		name    string
		hs      *httptest.Server
		off, n  int
		spliced bool
	}{
		{"whole", splicing, 0, len(data), true},
		{"range, new GET", splicing, MiB + 5, 3*MiB + 1, true},
		{"short range, copied", splicing, 100, 1000, false},
		{"to the end, small", splicing, len(data) - spliceMin + 1, spliceMin - 1, false},
		{"writer without ReadFrom", plain, 7, 2 * MiB, true},
		{"splicing off", copyOnly, 0, len(data), false},
	} {
		before := splicedBytes.Load()
		for i := 0; i < 3; i++ { // in a row: connections closed after a splice are not reused
			get(tc.hs, tc.off, tc.n)
		}
		if got := splicedBytes.Load() > before; got != tc.spliced {
			t.Errorf("%s: spliced %v, want %v", tc.name, got, tc.spliced)
		}
	}

	// A client that hangs up half way, then whole downloads again.
	resp, err := http.Get(fmt.Sprintf("%s/?off=0&n=%d", splicing.URL, len(data)))
	must(t, err)
	io.CopyN(io.Discard, resp.Body, 100<<10)
	resp.Body.Close()
	for i := 0; i < 3; i++ {
		get(splicing, 0, len(data))
	}
}
