package tests

// Limits on hostile or broken clients: slow headers (slowloris), oversized
// headers, transfers that stall, login floods; and what operators see:
// request ids, logs without secrets, health and metrics.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// ---- helpers for limits_test.go, faults_test.go and load_test.go ----

// obDial opens a raw connection to s.
func obDial(t testing.TB, s *server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// obChunkRequest is the raw HTTP request for one chunk, split where the
// file part's bytes begin, so a test can send them as it likes.
func obChunkRequest(s *server, method, shareID, token, dzuuid string, index, total int, data []byte) (head, fileBytes, tail []byte) {
	var pre bytes.Buffer
	w := multipart.NewWriter(&pre)
	w.WriteField("dzuuid", dzuuid)
	w.WriteField("dzchunkindex", strconv.Itoa(index))
	w.WriteField("dztotalchunks", strconv.Itoa(total))
	w.CreateFormFile("upload", "blob")
	post := "\r\n--" + w.Boundary() + "--\r\n"
	length := pre.Len() + len(data) + len(post)
	var h bytes.Buffer
	fmt.Fprintf(&h, "%s /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n", method, shareID, token)
	fmt.Fprintf(&h, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n", w.FormDataContentType(), length)
	h.Write(pre.Bytes())
	return h.Bytes(), data, []byte(post)
}

// obFiles lists the files in a blob store directory (tmp, chunks, blobs).
// On S3, what stands for it (s3Listing), named as the rows name it.
func obFiles(t testing.TB, s *server, dir string) []string {
	t.Helper()
	if strings.HasPrefix(s.Cfg.Storage, "s3://") {
		names, _ := s3Listing(t, s.Cfg.Storage, s.Cfg.S3Endpoint, dir)
		return names
	}
	ents, err := os.ReadDir(filepath.Join(s.Cfg.DataDir, "blobs", dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// obEventually polls cond until it holds or d passes.
func obEventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// obNoStrayFiles fails unless tmp/ is empty and every chunk and blob file
// is named by the database: nothing half-written is left behind.
func obNoStrayFiles(t testing.TB, s *server) {
	t.Helper()
	if s.App != nil {
		// Requests a client gave up on may still be cleaning up.
		obEventually(t, 30*time.Second, "requests still in flight", func() bool {
			return obMetrics(t, s)["sachet_http_requests_in_flight"] <= 1 // this one
		})
	}
	obEventually(t, 5*time.Second, "blobs/tmp is not empty", func() bool { return len(obFiles(t, s, "tmp")) == 0 })
	for _, dir := range []string{"chunks", "blobs", "assembly"} {
		for _, f := range obFiles(t, s, dir) {
			ok, err := s.App.Store.FileReferenced(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("%s/%s is on disk but named by no row", dir, f)
			}
		}
	}
}

// obPartialBytes is the size of what is being written: files in blobs/tmp
// (chunks in files of their own) and blobs/assembly (chunks appended to
// their upload's assembly file). A chunk cut off mid-stream must leave it
// as it was before the chunk.
//
// On S3 a chunk on its way is nothing in the bucket (s3Listing): this is
// the size of the parts of the multipart uploads in flight, which a cut
// chunk must leave as they were.
func obPartialBytes(t testing.TB, s *server) int64 {
	t.Helper()
	if strings.HasPrefix(s.Cfg.Storage, "s3://") {
		_, n := s3Listing(t, s.Cfg.Storage, s.Cfg.S3Endpoint, "assembly")
		return n
	}
	var n int64
	for _, dir := range []string{"tmp", "assembly"} {
		for _, f := range obFiles(t, s, dir) {
			if fi, err := os.Stat(filepath.Join(s.Cfg.DataDir, "blobs", dir, f)); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// obSweepOrphans runs, on S3, the orphan sweep over everything no row
// names, and returns how many it removed (0 for the filesystem store).
// A chunk appended to an upload whose recording then failed because the
// database went away stays there: whether the row was written is
// unknown, and removing the chunk could break one that was. In the
// filesystem store those bytes lie past the assembly file's recorded end
// (cut when the upload carries on); on S3 they are an object of their
// own, an orphan the periodic sweep removes.
func obSweepOrphans(t testing.TB, s *server) int {
	t.Helper()
	if !strings.HasPrefix(s.Cfg.Storage, "s3://") {
		return 0
	}
	n, err := s.App.Blobs.Sweep(context.Background(), time.Now().Add(time.Second), s.App.Store.FileReferenced)
	if err != nil {
		t.Fatalf("sweeping orphans: %v", err)
	}
	return n
}

// obWaitPartial waits until a chunk being sent has reached the store:
// bytes past base in blobs/tmp or blobs/assembly. On S3 nothing of it is
// visible before it is whole (s3Listing), so there is nothing to wait for.
func obWaitPartial(t testing.TB, s *server, base int64) {
	t.Helper()
	if strings.HasPrefix(s.Cfg.Storage, "s3://") {
		return
	}
	obEventually(t, 5*time.Second, "no partial chunk appeared in blobs/tmp or blobs/assembly", func() bool { return obPartialBytes(t, s) > base })
}

// obShare reads a share's metadata.
func obShare(t testing.TB, s *server, id string) map[string]any {
	t.Helper()
	return expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).JSON(t)
}

// obMetrics fetches /metrics and returns the sample lines by name+labels.
func obMetrics(t testing.TB, s *server) map[string]float64 {
	t.Helper()
	r := expect(t, s.req("GET", "/metrics", "", nil), 200)
	out := map[string]float64{}
	for _, line := range strings.Split(string(r.Body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// ---- slowloris and header size ----

// TestLimitSlowloris: connections that trickle their headers a byte a
// second are cut after SACHET_HEADER_TIMEOUT, and other clients are served
// normally meanwhile.
func TestLimitSlowloris(t *testing.T) {
	t.Parallel()
	// The header timeout is well above what a normal request may take
	// under -race on a loaded machine (0.56 s was seen), so that a normal
	// request held up by the slowloris connections (it would wait for
	// their cut) is told apart from a slow one.
	const headerTimeout = 2 * time.Second
	s := startWith(t, serverOpts{mutate: func(c *app.Config) { c.HeaderTimeout = headerTimeout }})
	const slow = 40
	start := time.Now()
	cut := make(chan time.Duration, slow)
	for i := 0; i < slow; i++ {
		c := obDial(t, s)
		go func() {
			req := "GET /whoami HTTP/1.1\r\nHost: sachet\r\nX-Padding: " + strings.Repeat("a", 100)
			for j := 0; j < len(req); j++ {
				if _, err := c.Write([]byte{req[j]}); err != nil {
					break
				}
				time.Sleep(time.Second)
			}
		}()
		go func() {
			// The server closes the connection without a response.
			c.SetReadDeadline(time.Now().Add(5 * headerTimeout))
			_, err := io.ReadAll(c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				cut <- -1
				return
			}
			cut <- time.Since(start)
		}()
	}
	// Meanwhile, normal clients.
	var worst time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
		worst = max(worst, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	if worst > headerTimeout*3/4 {
		t.Errorf("a normal request took %v while slowloris connections were open", worst)
	}
	var latest time.Duration
	for i := 0; i < slow; i++ {
		d := <-cut
		if d < 0 {
			t.Fatalf("a slowloris connection was still open after %v", 5*headerTimeout)
		}
		latest = max(latest, d)
	}
	if latest > 4*headerTimeout {
		t.Errorf("slowloris connections were cut only after %v (header timeout %v)", latest, headerTimeout)
	}
	t.Logf("%d slowloris connections cut within %v; worst normal request %v", slow, latest, worst)
}

// TestLimitHeaderSize: headers over SACHET_MAX_HEADER_SIZE are 431 with the
// JSON envelope; far over it, Go's server answers 431 itself (text body).
func TestLimitHeaderSize(t *testing.T) {
	t.Parallel()
	s := startWith(t, serverOpts{mutate: func(c *app.Config) { c.MaxHeaderBytes = 16 << 10 }})
	get := func(pad int) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", s.URL+"/whoami", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", pad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%d-byte header: %v", pad, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// Under the limit: fine (through the validating client).
	expect(t, s.req("GET", "/whoami", "", nil, "X-Padding", strings.Repeat("p", 12<<10)), 200)

	resp, body := get(20 << 10)
	var env struct{ Status, Message string }
	if resp.StatusCode != 431 || json.Unmarshal(body, &env) != nil || env.Status != "fail" ||
		!strings.Contains(env.Message, "16384-byte limit") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("20 KiB header: %d %q %s, want 431 with the JSON envelope naming the limit", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("431 without X-Request-Id")
	}
	// Beyond the hard limit (twice the setting), net/http answers before
	// any handler runs: still 431, but text.
	resp, body = get(100 << 10)
	if resp.StatusCode != 431 {
		t.Errorf("100 KiB header: %d %s, want 431", resp.StatusCode, body)
	}
	t.Logf("beyond the hard limit: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	// The server still serves.
	expect(t, s.req("GET", "/whoami", "", nil), 200)
}

// ---- stalled and slow transfers ----

const obIdle = time.Second

func obIdleConfig(c *app.Config) { c.IdleTimeout = obIdle }

// TestStallUpload: a chunk upload whose client stops sending mid-chunk is
// cut after about SACHET_IDLE_TIMEOUT; its partial file is removed, the
// share keeps its content, and others are served meanwhile.
func TestStallUpload(t *testing.T) {
	eachDBWith(t, obIdleConfig, func(t *testing.T, s *server) {
		id := s.newShare(s.admin, "stall.bin")
		v1 := randBytes(300 << 10)
		s.upload("POST", id, s.admin, v1, 1<<20)
		before := obShare(t, s, id)

		c := obDial(t, s)
		head, data, _ := obChunkRequest(s, "PUT", id, s.admin, "stalled", 0, 1, randBytes(4<<20))
		base := obPartialBytes(t, s)
		c.Write(head)
		c.Write(data[:5<<19])
		obWaitPartial(t, s, base)
		stalled := time.Now()

		// Others are served while the upload hangs.
		t0 := time.Now()
		expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("whoami took %v during a stalled upload", d)
		}

		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		cutAfter := time.Since(stalled)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			t.Logf("the stalled upload was answered %d %s", resp.StatusCode, b)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("stalled upload answered %d", resp.StatusCode)
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the stalled upload was not cut within 10 s")
		}
		if cutAfter < obIdle*3/4 || cutAfter > obIdle+3*time.Second {
			t.Errorf("cut %v after the upload stalled, want about %v", cutAfter, obIdle)
		}
		// The connection is closed.
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("connection still open after the cut")
		}
		obNoStrayFiles(t, s)
		if n := obPartialBytes(t, s); n != base {
			t.Errorf("%d bytes in blobs/tmp and blobs/assembly after the cut, %d before the chunk", n, base)
		}
		after := obShare(t, s, id)
		if after["sha256"] != before["sha256"] || after["size"] != before["size"] {
			t.Errorf("share changed: %v → %v", before, after)
		}
		if got := s.content(id, s.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(v1) {
			t.Errorf("content after the cut: %d, sha %s", got.Status, sha256Hex(got.Body))
		}
		m := obMetrics(t, s)
		if m[`sachet_http_transfers_stalled_total{direction="upload"}`] < 1 {
			t.Error("no stalled upload counted in /metrics")
		}
		t.Logf("cut %v after stalling", cutAfter)
	})
}

// TestStallSlowButSteadyTransfers: no global write or read timeout kills a
// transfer that takes much longer than SACHET_IDLE_TIMEOUT but keeps moving.
func TestStallSlowButSteadyTransfers(t *testing.T) {
	t.Parallel()
	s := startWith(t, serverOpts{mutate: obIdleConfig})
	id := s.newShare(s.admin, "slow.bin")
	data := randBytes(3 << 20)

	// Upload: one chunk sent in 256 KiB pieces 300 ms apart (~3.6 s).
	c := obDial(t, s)
	head, body, tail := obChunkRequest(s, "POST", id, s.admin, "slow", 0, 1, data)
	c.Write(head)
	for off := 0; off < len(body); off += 256 << 10 {
		if _, err := c.Write(body[off:min(off+256<<10, len(body))]); err != nil {
			t.Fatalf("slow upload cut at %d bytes: %v", off, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	c.Write(tail)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("slow upload: %v %v", resp, err)
	}

	// Download: read 256 KiB every 300 ms.
	dc := obDial(t, s)
	fmt.Fprintf(dc, "GET /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n\r\n", id, s.admin)
	resp, err = http.ReadResponse(bufio.NewReader(dc), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("slow download: %v %v", resp, err)
	}
	var got bytes.Buffer
	buf := make([]byte, 256<<10)
	t0 := time.Now()
	for {
		n, err := io.ReadFull(resp.Body, buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if sha256Hex(got.Bytes()) != sha256Hex(data) {
		t.Fatalf("slow download: %d bytes, wrong content", got.Len())
	}
	t.Logf("slow download of %d bytes took %v (idle timeout %v)", got.Len(), time.Since(t0), obIdle)
}

// TestStallDownload: a client that stops reading a download is cut after
// about SACHET_IDLE_TIMEOUT, even though the body is sent by sendfile.
func TestStallDownload(t *testing.T) {
	t.Parallel()
	s := startWith(t, serverOpts{mutate: obIdleConfig})
	id := s.newShare(s.admin, "big.bin")
	data := randBytes(48 << 20)
	s.upload("POST", id, s.admin, data, 16<<20)

	// A small receive buffer, so the server's writes block soon.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n\r\n", id, s.admin)
	br := bufio.NewReaderSize(c, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %v %v", resp, err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	// Stop reading. The server must give up on its own.
	t0 := time.Now()
	obEventually(t, 6*time.Second, "the stalled download was not cut", func() bool {
		return obMetrics(t, s)[`sachet_http_transfers_stalled_total{direction="download"}`] >= 1
	})
	t.Logf("stalled download cut after %v", time.Since(t0))
	// Reading again: what was buffered, then the end, short of the whole.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := io.Copy(io.Discard, resp.Body)
	if n+64<<10 >= int64(len(data)) {
		t.Errorf("the whole content arrived after the stall: the download was not cut")
	}
	expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
}

// Login throttling is tested in throttle_test.go.

// ---- logs ----

// obLockedBuffer collects log output from many goroutines.
type obLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *obLockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *obLockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogRequestIDsAndNoSecrets: every response has an X-Request-Id, every
// log line of a request carries it, and no password, token or
// Authorization header is ever logged, in either log format.
func TestLogRequestIDsAndNoSecrets(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			logs := &obLockedBuffer{}
			// No read cache: the request made with the database closed must
			// reach it and fail.
			s := startWith(t, serverOpts{logOut: logs, logJSON: format == "json", logLevel: slog.LevelDebug,
				mutate: func(c *app.Config) { c.CacheTTL = 0 }})
			secrets := []string{"admin-pw", s.admin}
			pw := "Pa55-w0rd-" + hex.EncodeToString(randBytes(6))
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "lea", "password": pw, "permissions": []string{"CREATE", "READ"}}), 201)
			tok := s.login("lea", pw)
			wrong := "wr0ng-" + hex.EncodeToString(randBytes(6))
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "lea", "password": wrong}), 401)
			bogus := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWEifQ." + hex.EncodeToString(randBytes(8))
			expect(t, s.req("GET", "/whoami", bogus, nil), 401)
			newPw := "N3w-" + hex.EncodeToString(randBytes(6))
			expect(t, s.req("POST", "/users/password", tok, map[string]string{"old": pw, "new": newPw}), 200)
			tok2 := s.login("lea", newPw)
			id := s.newShare(tok2, "f.txt")
			s.upload("POST", id, tok2, []byte("hello"), 1<<20)
			expect(t, s.content(id, tok2), 200)
			expect(t, s.req("POST", "/users/logout", tok2, map[string]string{"token": tok}), 200)
			expect(t, s.req("POST", "/users/extend", tok2, nil), 200)
			secrets = append(secrets, pw, tok, wrong, bogus, newPw, tok2, strings.Split(tok, ".")[2], strings.Split(tok2, ".")[2])

			// A request id given by a proxy is kept.
			r := expect(t, s.req("GET", "/whoami", tok2, nil, "X-Request-Id", "edge-7f3a.42"), 200)
			if r.Header.Get("X-Request-Id") != "edge-7f3a.42" {
				t.Errorf("X-Request-Id %q, want the proxy's", r.Header.Get("X-Request-Id"))
			}
			// A malformed one is replaced.
			r = expect(t, s.req("GET", "/healthz", "", nil, "X-Request-Id", "evil\" id=1"), 200)
			if got := r.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, "evil") {
				t.Errorf("X-Request-Id %q", got)
			}
			// A request that fails inside: its error line carries the id too.
			s.allow5xx = true
			s.App.Store.Close()
			r = s.req("GET", "/whoami", tok2, nil)
			if r.Status != 503 {
				t.Errorf("whoami with the database closed: %d", r.Status)
			}
			failedID := r.Header.Get("X-Request-Id")

			out := logs.String()
			for _, sec := range secrets {
				if strings.Contains(out, sec) {
					t.Errorf("the log contains a secret %q", sec)
				}
			}
			for _, bad := range []string{"Bearer", "authorization", "Authorization"} {
				if strings.Contains(out, bad) {
					t.Errorf("the log mentions %q", bad)
				}
			}
			// Lines by request id.
			byID := map[string][]string{}
			idRE := regexp.MustCompile(`request_id=(\S+)`)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var rid, msg string
				if format == "json" {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatalf("not a JSON log line: %q", line)
					}
					rid, _ = m["request_id"].(string)
					msg, _ = m["msg"].(string)
				} else {
					if m := idRE.FindStringSubmatch(line); m != nil {
						rid = m[1]
					}
					msg = line
				}
				if rid != "" {
					byID[rid] = append(byID[rid], msg)
				}
			}
			if n := len(byID["edge-7f3a.42"]); n != 1 {
				t.Errorf("%d log lines for the proxy's request id, want its access line", n)
			}
			lines := byID[failedID]
			if len(lines) < 2 {
				t.Errorf("the failed request %s has log lines %q, want its error and its access line", failedID, lines)
			}
			if len(byID) < 15 {
				t.Errorf("only %d request ids in the log", len(byID))
			}
		})
	}
}

// ---- health ----

// TestHealthReadyz: /healthz answers while the process serves; /readyz is
// 503 with a message when the data dir is not writable or the database is
// gone, and 200 again once the data dir is back.
func TestHealthReadyz(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		expect(t, s.req("GET", "/healthz", "", nil), 200)
		expect(t, s.req("GET", "/readyz", "", nil), 200)
		s.allow5xx = true
		// The store unwritable: on S3 that is the bucket's server gone,
		// which TestS3Outage does to a versitygw of its own (stopping the
		// shared one here would fail every test running meanwhile).
		if !onS3() {
			// Root ignores permissions, so make tmp/ unusable another way.
			tmp := filepath.Join(s.Cfg.DataDir, "blobs", "tmp")
			if err := os.Rename(tmp, tmp+".away"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tmp, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			r := expect(t, s.req("GET", "/readyz", "", nil), 503)
			if !strings.Contains(r.Message(), "data directory") {
				t.Errorf("readyz message %q", r.Message())
			}
			expect(t, s.req("GET", "/healthz", "", nil), 200)
			os.Remove(tmp)
			os.Rename(tmp+".away", tmp)
			expect(t, s.req("GET", "/readyz", "", nil), 200)
		}

		s.App.Store.Close()
		r := expect(t, s.req("GET", "/readyz", "", nil), 503)
		if !strings.Contains(r.Message(), "database") {
			t.Errorf("readyz message %q", r.Message())
		}
		expect(t, s.req("GET", "/healthz", "", nil), 200)
	})
}

// ---- metrics ----

// TestMetrics: requests by operation and status, latency histograms, bytes
// in and out, active uploads, database pool stats.
func TestMetrics(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		for i := 0; i < 5; i++ {
			expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
		}
		expect(t, s.req("GET", "/files/"+"00000000-0000-4000-8000-000000000000", s.admin, nil), 404)
		id := s.newShare(s.admin, "m.bin")
		data := randBytes(700 << 10)
		s.upload("POST", id, s.admin, data, 1<<20)
		expect(t, s.content(id, s.admin), 200)
		expect(t, s.content(id, s.admin, "Range", "bytes=0-99"), 206)

		// An upload in progress is counted while it lasts.
		c := obDial(t, s)
		id2 := s.newShare(s.admin, "m2.bin")
		head, body, tail := obChunkRequest(s, "POST", id2, s.admin, "m", 0, 1, randBytes(1000))
		c.Write(head)
		c.Write(body[:10])
		obEventually(t, 5*time.Second, "sachet_uploads_active never reached 1", func() bool {
			return obMetrics(t, s)["sachet_uploads_active"] == 1
		})
		c.Write(body[10:])
		c.Write(tail)
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 201 {
			t.Fatalf("upload: %v %v", resp, err)
		}

		m := obMetrics(t, s)
		checks := map[string]func(float64) bool{
			`sachet_http_requests_total{code="200",operation="whoami"}`:                 func(v float64) bool { return v == 5 },
			`sachet_http_requests_total{code="404",operation="getShare"}`:               func(v float64) bool { return v == 1 },
			`sachet_http_requests_total{code="206",operation="getShareContent"}`:        func(v float64) bool { return v == 1 },
			`sachet_http_request_duration_seconds_count{operation="whoami"}`:            func(v float64) bool { return v == 5 },
			`sachet_http_request_duration_seconds_bucket{operation="whoami",le="+Inf"}`: func(v float64) bool { return v == 5 },
			`sachet_http_request_body_bytes_total{operation="uploadShareContent"}`:      func(v float64) bool { return v > 700<<10 },
			`sachet_http_response_body_bytes_total{operation="getShareContent"}`:        func(v float64) bool { return v == 700<<10+100 },
			`sachet_uploads_active`:          func(v float64) bool { return v == 0 },
			`sachet_http_requests_in_flight`: func(v float64) bool { return v == 1 },
			`sachet_login_throttled_total`:   func(v float64) bool { return v == 0 },
			`sachet_http_request_duration_seconds_sum{operation="uploadShareContent"}`:   func(v float64) bool { return v > 0 },
			`sachet_http_requests_total{code="201",operation="uploadShareContent"}`:      func(v float64) bool { return v == 2 },
			`sachet_http_request_duration_seconds_count{operation="getShareContent"}`:    func(v float64) bool { return v == 2 },
			`sachet_http_requests_total{code="201",operation="createShare"}`:             func(v float64) bool { return v == 2 },
			`sachet_http_response_body_bytes_total{operation="whoami"}`:                  func(v float64) bool { return v > 0 },
			`sachet_http_request_duration_seconds_bucket{operation="whoami",le="0.001"}`: func(v float64) bool { return v >= 0 },
			`sachet_http_requests_total{code="200",operation="login"}`:                   func(v float64) bool { return v == 1 },
			`sachet_http_request_body_bytes_total{operation="login"}`:                    func(v float64) bool { return v > 0 },
			`sachet_http_requests_total{code="200",operation="metrics"}`:                 func(v float64) bool { return v >= 1 },
			`process_open_fds`: func(v float64) bool { return v > 0 },
			`go_goroutines`:    func(v float64) bool { return v > 0 },
		}
		pools := []string{"sachet_write", "sachet_read"}
		if s.Dialect == "mysql" {
			pools = []string{"sachet_pool"}
		}
		for _, p := range pools {
			checks[`go_sql_max_open_connections{db_name="`+p+`"}`] = func(v float64) bool { return v > 0 }
			checks[`go_sql_open_connections{db_name="`+p+`"}`] = func(v float64) bool { return v >= 0 }
			checks[`go_sql_wait_count_total{db_name="`+p+`"}`] = func(v float64) bool { return v >= 0 }
		}
		for k, ok := range checks {
			v, found := m[k]
			if !found {
				t.Errorf("metric %s missing", k)
			} else if !ok(v) {
				t.Errorf("metric %s = %v", k, v)
			}
		}
		if t.Failed() {
			var names []string
			for k := range m {
				if strings.HasPrefix(k, "sachet_") {
					names = append(names, fmt.Sprintf("%s %v", k, m[k]))
				}
			}
			t.Logf("sachet metrics:\n%s", strings.Join(names, "\n"))
		}
	})
}
