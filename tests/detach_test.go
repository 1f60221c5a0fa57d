package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// TestDownloadLargeKeepAlive: a large download (sent outside net/http once
// its headers are out, api/detach.go) leaves its connection usable for
// the next request, whole or ranged; a request asking to close gets its
// body and then the close; the access log has one line per download with
// the bytes sent; a client that hangs up mid-body leaves the server well.
func TestDownloadLargeKeepAlive(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			logs := &obLockedBuffer{}
			s := startWith(t, serverOpts{dialect: d, logOut: logs, logJSON: true, logLevel: slog.LevelInfo,
				mutate: func(c *app.Config) { c.HeaderTimeout = time.Second }})
			id := s.newShare(s.admin, "big.bin")
			data := randBytes(3<<20 + 12345)
			s.upload("POST", id, s.admin, data, 8<<20)

			c := s.dialRaw(t)
			br := bufio.NewReader(c)
			get := func(path, extra string) *http.Response {
				t.Helper()
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n%s\r\n", path, s.admin, extra)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("GET %s on the kept connection: %v", path, err)
				}
				return resp
			}
			body := func(resp *http.Response) []byte {
				t.Helper()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("body: %v", err)
				}
				return b
			}

			for i := range 2 { // twice whole, on one connection
				resp := get("/files/"+id+"/content", "")
				if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) {
					t.Fatalf("download %d: %d, length %d", i, resp.StatusCode, resp.ContentLength)
				}
				if b := body(resp); !bytes.Equal(b, data) {
					t.Fatalf("download %d: %d bytes, not the content", i, len(b))
				}
				if i == 0 {
					// Idle past the header timeout: a kept connection
					// waits for its next request as long as any other
					// (the idle timeout), not the header timeout.
					time.Sleep(2 * time.Second)
				}
			}
			const from, to = 100, 2<<20 + 99
			resp := get("/files/"+id+"/content", fmt.Sprintf("Range: bytes=%d-%d\r\n", from, to))
			if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", from, to, len(data)) {
				t.Fatalf("range: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
			}
			if b := body(resp); !bytes.Equal(b, data[from:to+1]) {
				t.Fatalf("range: %d bytes, not the content's", len(b))
			}
			resp = get("/files/"+id+"/content", fmt.Sprintf("If-None-Match: %s\r\n", resp.Header.Get("ETag")))
			if resp.StatusCode != 304 {
				t.Fatalf("conditional on the kept connection: %d", resp.StatusCode)
			}
			body(resp)
			resp = get("/files/"+id, "")
			if resp.StatusCode != 200 {
				t.Fatalf("metadata on the kept connection: %d", resp.StatusCode)
			}
			body(resp)
			// Asked to close: the whole body, then the end of the connection.
			resp = get("/files/"+id+"/content", "Connection: close\r\n")
			if b := body(resp); resp.StatusCode != 200 || !bytes.Equal(b, data) {
				t.Fatalf("download with close: %d, %d bytes", resp.StatusCode, len(b))
			}
			if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("the connection stayed open after Connection: close (%d, %v)", n, err)
			}

			// A client that hangs up mid-body.
			c2 := s.dialRaw(t)
			fmt.Fprintf(c2, "GET /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n\r\n", id, s.admin)
			io.ReadFull(c2, make([]byte, 64<<10))
			c2.Close()
			expect(t, s.req("GET", "/whoami", s.admin, nil), 200)

			// One access-log line per download, with what was sent.
			want := []int64{int64(len(data)), int64(len(data)), to - from + 1, 0, int64(len(data))}
			status := []int{200, 200, 206, 304, 200}
			obEventually(t, 30*time.Second, "no log line for the hung-up download", func() bool {
				return len(contentLogLines(t, logs.String())) >= len(want)+1
			})
			lines := contentLogLines(t, logs.String())
			for i, w := range want {
				if lines[i].BytesOut != w || lines[i].Status != status[i] {
					t.Errorf("log line %d: status %d, bytes_out %d; want bytes_out %d", i, lines[i].Status, lines[i].BytesOut, w)
				}
			}
			if cut := lines[len(lines)-1]; cut.BytesOut >= int64(len(data)) {
				t.Errorf("the hung-up download logged %d bytes out, the whole content", cut.BytesOut)
			}

			// Concurrent downloads of one file share its descriptor, each
			// reading from its own offset.
			errs := make(chan error, 6)
			for i := range 6 {
				go func() {
					req, _ := http.NewRequest("GET", s.URL+"/files/"+id+"/content", nil)
					req.Header.Set("Authorization", "Bearer "+s.admin)
					if i%2 == 1 {
						req.Header.Set("Range", fmt.Sprintf("bytes=%d-", i*1000))
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					if want := data[min(i%2, 1)*i*1000:]; err == nil && !bytes.Equal(b, want) {
						err = fmt.Errorf("download %d: %d bytes, not the content's %d", i, len(b), len(want))
					}
					errs <- err
				}()
			}
			for range 6 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

type contentLogLine struct {
	Op       string `json:"op"`
	Status   int    `json:"status"`
	BytesOut int64  `json:"bytes_out"`
}

// contentLogLines are the access-log lines of content downloads, in order.
func contentLogLines(t *testing.T, out string) []contentLogLine {
	var lines []contentLogLine
	for _, l := range strings.Split(out, "\n") {
		var e contentLogLine
		if json.Unmarshal([]byte(l), &e) == nil && e.Op == "getShareContent" {
			lines = append(lines, e)
		}
	}
	return lines
}

// TestLinkDownloadDetached: a large download through a link without a
// download limit leaves net/http as a content download does (detach.go),
// its claim overlapping the body: the handler has returned while the body
// is still being sent, the connection is kept for the next request, and
// every download is counted once.
func TestLinkDownloadDetached(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := startWith(t, serverOpts{dialect: d})
			id := s.newShare(s.admin, "big.bin")
			data := randBytes(8<<20 + 12345)
			s.upload("POST", id, s.admin, data, 8<<20)
			token, _ := s.newLink(s.admin, id, nil)
			path := "/links/" + token + "/content"

			c := s.dialRaw(t)
			br := bufio.NewReader(c)
			get := func(path, extra string) (*http.Response, []byte) {
				t.Helper()
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: sachet\r\n%s\r\n", path, extra)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("GET %s on the kept connection: %v", path, err)
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("GET %s: body: %v", path, err)
				}
				return resp, b
			}
			for i := range 2 { // twice whole, on one connection
				resp, b := get(path, "")
				if resp.StatusCode != 200 || !bytes.Equal(b, data) {
					t.Fatalf("link download %d: %d, %d bytes", i, resp.StatusCode, len(b))
				}
			}
			const to = 2<<20 + 99
			resp, b := get(path, fmt.Sprintf("Range: bytes=0-%d\r\n", to))
			if resp.StatusCode != 206 || !bytes.Equal(b, data[:to+1]) {
				t.Fatalf("link range from 0: %d, %d bytes", resp.StatusCode, len(b))
			}
			if resp, _ := get("/links/"+token, ""); resp.StatusCode != 200 {
				t.Fatalf("link metadata on the kept connection: %d", resp.StatusCode)
			}

			// A client that reads slowly: the link's handler has returned
			// while its body is still sent, by a detached sender.
			c2, err := net.DialTCP("tcp", nil, c.RemoteAddr().(*net.TCPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			c2.SetReadBuffer(64 << 10) // no autotuning: the body cannot fit in flight
			c2.SetDeadline(time.Now().Add(time.Minute))
			fmt.Fprintf(c2, "GET %s HTTP/1.1\r\nHost: sachet\r\n\r\n", path)
			br2 := bufio.NewReader(c2)
			resp, err = http.ReadResponse(br2, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("slow link download: %v %v", resp, err)
			}
			if !strings.HasPrefix(testStorage(), "s3") { // S3 content is not a local file: never detached
				buf := make([]byte, 1<<20)
				obEventually(t, 10*time.Second, "the slow link download is still sent by its handler, not detached", func() bool {
					st := string(buf[:runtime.Stack(buf, true)])
					return strings.Contains(st, "api.(*detachedSend).send") && !strings.Contains(st, "impl.(*download).serveLink")
				})
			}
			if b, err := io.ReadAll(resp.Body); err != nil || !bytes.Equal(b, data) {
				t.Fatalf("slow link download: %d bytes, %v", len(b), err)
			}
			if l := s.links(s.admin, id)[0]; l["downloads"] != float64(4) {
				t.Errorf("link downloads %v, want 4", l["downloads"])
			}
		})
	}
}

// TestLinkRefusedClaimCutsBody: when the overlapping claim of a large
// link download is refused after the header went out (here the link was
// used up by another process, which this server's cache has not seen),
// the body stops short of its last 64 KiB and the connection closes: no
// client gets the whole body of a download that was not counted.
func TestLinkRefusedClaimCutsBody(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := startWith(t, serverOpts{dialect: d, mutate: func(c *app.Config) { c.CacheTTL = time.Hour }})
			id := s.newShare(s.admin, "big.bin")
			data := randBytes(8<<20 + 12345)
			s.upload("POST", id, s.admin, data, 8<<20)
			token, linkID := s.newLink(s.admin, id, nil)
			expect(t, s.req("GET", "/links/"+token, "", nil), 200) // cached here for the hour
			if _, err := rawDB(t, s).Exec(`UPDATE share_links SET max_downloads = downloads WHERE link_id = ?`, linkID); err != nil {
				t.Fatal(err)
			}

			c := s.dialRaw(t)
			fmt.Fprintf(c, "GET /links/%s/content HTTP/1.1\r\nHost: sachet\r\n\r\n", token)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) {
				t.Fatalf("%d, length %d", resp.StatusCode, resp.ContentLength)
			}
			b, err := io.ReadAll(resp.Body)
			if err == nil || len(b) > len(data)-64<<10 || !bytes.Equal(b, data[:len(b)]) {
				t.Fatalf("refused download: %d of %d bytes, %v; want at most all but the last 64 KiB, then an error", len(b), len(data), err)
			}
			if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("the connection stayed open after the refused body (%d, %v)", n, err)
			}
			if l := s.links(s.admin, id)[0]; l["downloads"] != float64(0) || l["state"] != "exhausted" {
				t.Errorf("listed %v, want exhausted with 0 downloads", l)
			}
		})
	}
}

// dialRaw opens a plain TCP connection to the server for hand-written
// HTTP/1.1, closed with the test, with a minute's deadline so a hang fails
// the test instead of stalling it.
func (s *server) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return c
}
