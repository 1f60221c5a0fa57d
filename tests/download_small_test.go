package tests

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
)

// TestDownloadSmallRangeSameAnswer: a GET of one small range is answered
// from one pread on a shared open file (impl/smallrange.go), any other
// request by http.ServeContent. The two paths must give the same answer:
// a matching If-Range sends the same range through ServeContent, and the
// status, body and every header but Date must be equal. Repeated
// requests exercise the open-file cache too, including after the content
// is replaced (the old blob's file is dropped) and after a delete.
func TestDownloadSmallRangeSameAnswer(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		data := randBytes(fileSize)
		id := s.newShare(s.admin, "data.bin")
		s.upload("POST", id, s.admin, data, 1230)
		etag := expect(t, s.content(id, s.admin), 200).Header.Get("ETag")
		same := func(t *testing.T, rng string, want []byte) {
			t.Helper()
			for range 3 {
				fast := s.content(id, s.admin, "Range", rng)
				ref := s.content(id, s.admin, "Range", rng, "If-Range", etag)
				if fast.Status != ref.Status || !bytes.Equal(fast.Body, ref.Body) {
					t.Fatalf("Range %s: status %d, %d bytes; through ServeContent %d, %d bytes", rng, fast.Status, len(fast.Body), ref.Status, len(ref.Body))
				}
				if want != nil && !bytes.Equal(fast.Body, want) {
					t.Fatalf("Range %s: body differs from the content's bytes", rng)
				}
				for _, h := range []http.Header{fast.Header, ref.Header} {
					h.Del("Date")
					h.Del("X-Request-Id")
				}
				for k, v := range ref.Header {
					if !slices.Equal(fast.Header.Values(k), v) {
						t.Errorf("Range %s: header %s = %q, ServeContent sends %q", rng, k, fast.Header.Values(k), v)
					}
				}
				for k := range fast.Header {
					if _, ok := ref.Header[k]; !ok {
						t.Errorf("Range %s: header %s = %q, which ServeContent does not send", rng, k, fast.Header.Values(k))
					}
				}
			}
		}
		for _, tc := range []struct {
			rng      string
			from, to int
		}{
			{"bytes=0-0", 0, 0},
			{"bytes=0-1023", 0, 1023},
			{"bytes=100-3999", 100, 3999},
			{"bytes=3000-9999", 3000, fileSize - 1}, // clamped
			{"bytes=-10", fileSize - 10, fileSize - 1},
			{"bytes=-99999", 0, fileSize - 1},
			{"bytes= 5-6", 5, 6},
		} {
			t.Run(tc.rng, func(t *testing.T) {
				r := expect(t, s.content(id, s.admin, "Range", tc.rng), 206)
				if !bytes.Equal(r.Body, data[tc.from:tc.to+1]) {
					t.Fatalf("body is not bytes %d-%d", tc.from, tc.to)
				}
				same(t, tc.rng, data[tc.from:tc.to+1])
			})
		}
		t.Run("unsatisfiable", func(t *testing.T) { same(t, "bytes=5000-5001", nil) })

		// Replace the content: the next small range reads the new bytes.
		data2 := randBytes(fileSize)
		s.upload("PUT", id, s.admin, data2, 1230)
		etag = expect(t, s.content(id, s.admin), 200).Header.Get("ETag")
		r := expect(t, s.content(id, s.admin, "Range", "bytes=0-99"), 206)
		if !bytes.Equal(r.Body, data2[:100]) {
			t.Fatal("a small range after the content was replaced served the old bytes")
		}
		same(t, "bytes=10-20", data2[10:21])

		// Delete the share: a small range is 404, not the cached file's bytes.
		expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
		expect(t, s.content(id, s.admin, "Range", "bytes=0-99"), 404)
	})
}
