package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sachet-server/sachet/app"
)

// TestS3PresignedRedirect: with SACHET_S3_PRESIGNED_REDIRECT=true a plain
// content GET is a 302 to a presigned URL of the real S3 server
// (versitygw), which serves the same bytes, the same Content-Type and
// Content-Disposition, and Range; conditional requests, bad ranges and
// HEAD are still answered by Sachet itself. The content is uploaded the
// Dropzone way (dzchunksize, dztotalfilesize), so its chunks stream
// straight into S3 (a chunk of the wrong length is refused on the way).
// It always runs on S3, whatever SACHET_TEST_STORAGE says.
func TestS3PresignedRedirect(t *testing.T) {
	eachDBWith(t, func(c *app.Config) {
		srv := testS3(t)
		c.Storage = srv.Storage(s3Bucket, s3Prefix())
		c.S3Endpoint, c.S3PathStyle, c.S3Region = srv.Endpoint, true, "us-east-1"
		c.S3PresignedRedirect = true
	}, func(t *testing.T, s *server) {
		s = s.on(t)
		id := s.newShare(s.admin, "report 1.pdf")
		const chunkSize = 6 << 20
		data := pcgBytes(11, 2*chunkSize+(1<<20)+300)
		total := (len(data) + chunkSize - 1) / chunkSize
		send := func(i int, body []byte) reply {
			return s.sendChunk("POST", id, s.admin, chunk{UUID: "dz-presign", Index: i, Total: total, Data: body,
				Extra: map[string]string{"dzchunksize": fmt.Sprint(chunkSize), "dztotalfilesize": fmt.Sprint(len(data))}})
		}
		// A chunk shorter than dzchunksize says: refused, nothing kept.
		expect(t, send(0, data[:chunkSize-10]), 400)
		for i := range total {
			want := 200
			if i == total-1 {
				want = 201
			}
			expect(t, send(i, data[i*chunkSize:min((i+1)*chunkSize, len(data))]), want)
		}

		noFollow := *s
		c := *s.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		noFollow.client = &c
		direct := &http.Client{} // the S3 server's answers are not Sachet's contract
		follow := func(loc string, headers ...string) *http.Response {
			t.Helper()
			req, err := http.NewRequest("GET", loc, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			resp, err := direct.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		body := func(resp *http.Response) []byte {
			t.Helper()
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}

		r := expect(t, noFollow.content(id, s.admin), 302)
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, "http://"+strings.TrimPrefix(s.Cfg.S3Endpoint, "http://")+"/") || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Location %q, Cache-Control %q", loc, r.Header.Get("Cache-Control"))
		}
		resp := follow(loc)
		if got := body(resp); resp.StatusCode != 200 || !bytes.Equal(got, data) {
			t.Fatalf("following the redirect: %d, %d bytes (want the %d uploaded)", resp.StatusCode, len(got), len(data))
		}
		if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/pdf" || cd != `inline; filename="report 1.pdf"` {
			t.Errorf("S3 served Content-Type %q, Content-Disposition %q", ct, cd)
		}

		// Range goes through the redirect: the client sends it again.
		r = expect(t, noFollow.content(id, s.admin, "Range", "bytes=100-199"), 302)
		resp = follow(r.Header.Get("Location"), "Range", "bytes=100-199")
		if got := body(resp); resp.StatusCode != 206 || !bytes.Equal(got, data[100:200]) {
			t.Fatalf("range through the redirect: %d, %d bytes", resp.StatusCode, len(got))
		}
		// A whole http.Client follows on its own, Range included.
		req, _ := http.NewRequest("GET", s.URL+"/files/"+id+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+s.admin)
		req.Header.Set("Range", "bytes=-5")
		resp, err := direct.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := body(resp); resp.StatusCode != 206 || !bytes.Equal(got, data[len(data)-5:]) {
			t.Fatalf("followed range: %d, %q", resp.StatusCode, got)
		}

		// Served by Sachet: conditionals (its ETag), a bad range (its 416
		// envelope), HEAD.
		etag := expect(t, noFollow.req("HEAD", "/files/"+id+"/content", s.admin, nil), 200).Header.Get("ETag")
		expect(t, noFollow.content(id, s.admin, "If-None-Match", etag), 304)
		expect(t, noFollow.content(id, s.admin, "Range", "bytes=999999999-"), 416)
		r = expect(t, noFollow.content(id, s.admin, "If-None-Match", `"other"`, "Range", "bytes=0-9"), 206)
		if !bytes.Equal(r.Body, data[:10]) {
			t.Fatalf("range served here: %q", r.Body)
		}
		// No access, no redirect.
		expect(t, noFollow.content(id, ""), 401)
	})
}

// TestS3DownloadSpliced: downloads of 1 MiB and more from S3 are spliced
// from the S3 connection (s3store/splice.go); whole, ranged from the
// middle (a new GET), to the end, several ranges at once and many in a
// row, the bytes are the file's. It always runs on S3.
func TestS3DownloadSpliced(t *testing.T) {
	eachDBWith(t, func(c *app.Config) {
		srv := testS3(t)
		c.Storage = srv.Storage(s3Bucket, s3Prefix())
		c.S3Endpoint, c.S3PathStyle, c.S3Region = srv.Endpoint, true, "us-east-1"
	}, func(t *testing.T, s *server) {
		s = s.on(t)
		id := s.newShare(s.admin, "big.bin")
		data := pcgBytes(12, 5<<20+321)
		s.upload("POST", id, s.admin, data, 2<<20)
		for i := 0; i < 3; i++ {
			r := expect(t, s.content(id, s.admin), 200)
			if !bytes.Equal(r.Body, data) {
				t.Fatalf("whole download %d: %d bytes, not the file", i, len(r.Body))
			}
		}
		for _, rg := range [][2]int{{1000, 3<<20 + 7}, {2 << 20, len(data) - 1}, {0, 1<<20 + 1}} {
			r := expect(t, s.content(id, s.admin, "Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1])), 206)
			if !bytes.Equal(r.Body, data[rg[0]:rg[1]+1]) {
				t.Fatalf("range %v: %d bytes, not the file's", rg, len(r.Body))
			}
		}
		r := expect(t, s.content(id, s.admin, "Range", "bytes=-1500000"), 206)
		if !bytes.Equal(r.Body, data[len(data)-1500000:]) {
			t.Fatalf("suffix range: %d bytes, not the file's", len(r.Body))
		}
		r = expect(t, s.content(id, s.admin, "Range", "bytes=0-9,3000000-4100000"), 206)
		if !bytes.Contains(r.Body, data[3000000:4100001]) || !bytes.Contains(r.Body, data[:10]) {
			t.Fatalf("multipart ranges: the parts are not the file's")
		}
	})
}
