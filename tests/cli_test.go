package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestCLI runs the real `sachet` client binary against a real server on
// both databases: a push killed (SIGKILL) at a random chunk and run again
// sends only the missing chunks; a pull killed mid-download and run again
// fetches only the rest; both end byte-identical. The bytes on the wire
// are counted by a proxy between client and server.
//
// The file is 256 MiB, so that `make test` stays sane on a small machine;
// SACHET_TEST_CLI_1GIB=1 pushes and pulls 1 GiB instead.
func TestCLI(t *testing.T) {
	bin := buildSachet(t)
	size := int64(256 << 20)
	if os.Getenv("SACHET_TEST_CLI_1GIB") != "" {
		size = 1 << 30
	}
	// One file for both databases: written once, read by both.
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandomFile(t, src, size)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := start(t, d, nil)
			c := newCLI(t, bin, s)
			c.loginAs("pusher", "CREATE", "MODIFY", "READ", "LIST", "DELETE", "LOCK")
			id := t.Run("PushKilledAndResumed", func(t *testing.T) { cliPushResume(t, c, src, size) })
			if !id {
				return
			}
			t.Run("PullKilledAndResumed", func(t *testing.T) { cliPullResume(t, c, src, size) })
			t.Run("Commands", func(t *testing.T) { cliCommands(t, c) })
			t.Run("ProgressOnTerminal", func(t *testing.T) { cliProgressTTY(t, c) })
			t.Run("ProgressPlainWithoutTerminal", func(t *testing.T) { cliProgressPlain(t, c) })
		})
	}
}

// cli runs the client binary as one user with its own config and state
// directories.
type cli struct {
	t       *testing.T
	bin     string
	s       *server
	home    string
	token   string // the user's token, for the test's own requests
	shareID string // the share pushed by PushKilledAndResumed
}

func newCLI(t *testing.T, bin string, s *server) *cli {
	return &cli{t: t, bin: bin, s: s, home: t.TempDir()}
}

func (c *cli) env() []string {
	return []string{
		"HOME=" + c.home,
		"XDG_CONFIG_HOME=" + filepath.Join(c.home, "config"),
		"XDG_STATE_HOME=" + filepath.Join(c.home, "state"),
		"PATH=" + os.Getenv("PATH"),
	}
}

func (c *cli) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env()
	cmd.Dir = c.home
	return cmd
}

// run runs the client to the end and returns stdout, stderr and the exit
// status.
func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := c.command(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		c.t.Fatalf("sachet %v: %v", args, err)
	}
	return o.String(), e.String(), 0
}

// must runs the client and fails the test unless it exits 0.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("sachet %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// loginAs creates the user and logs the client in with --password-file.
func (c *cli) loginAs(name string, perms ...string) {
	c.t.Helper()
	c.token = c.s.user(name, perms...)
	pw := filepath.Join(c.home, "pw")
	if err := os.WriteFile(pw, []byte(name+"-pw\n"), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.must("login", c.s.URL, "--username", name, "--password-file", pw)
}

func cliPushResume(t *testing.T, c *cli, src string, size int64) {
	const chunkSize = 8 << 20
	total := int((size + chunkSize - 1) / chunkSize)
	p := newCountingProxy(t, c.s.URL)
	// Slow enough that the push can be killed part-way, on any machine.
	p.rate.Store(48 << 20)

	cmd := c.command("push", "--server", p.URL, "--chunk-size", strconv.Itoa(chunkSize), src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Kill it once the server holds a random number of chunks, read from
	// the state file the client keeps and the upload-status route.
	killAt := 2 + rand.IntN(total/2)
	var st struct {
		ShareID  string `json:"share_id"`
		UploadID string `json:"dzuuid"`
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("push ended (%v) before it held %d chunks; stderr: %s", err, killAt, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the push made no progress")
		}
		if st.ShareID == "" {
			if files, _ := filepath.Glob(filepath.Join(c.home, "state", "sachet", "push", "*.json")); len(files) == 1 {
				data, _ := os.ReadFile(files[0])
				_ = json.Unmarshal(data, &st)
			}
		}
		if st.ShareID != "" {
			r := c.s.req("GET", statusPath(st.ShareID, st.UploadID), c.token, nil)
			if r.Status == 200 && int(r.JSON(t)["received_chunks"].(float64)) >= killAt {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	within(t, time.Minute, "the killed client's exit", exited)
	heldAfterKill := int(expect(t, c.s.req("GET", statusPath(st.ShareID, st.UploadID), c.token, nil), 200).JSON(t)["received_chunks"].(float64))
	if heldAfterKill >= total {
		t.Fatalf("all %d chunks arrived before the kill", total)
	}

	p.reset()
	out := c.must("push", "--server", p.URL, "--chunk-size", strconv.Itoa(chunkSize), "--json", src)
	var res struct {
		ShareID       string `json:"share_id"`
		URL           string `json:"url"`
		SHA256        string `json:"sha256"`
		Resumed       bool   `json:"resumed"`
		ChunksSkipped int    `json:"chunks_skipped"`
		BytesSent     int64  `json:"bytes_sent"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("push --json: %v: %s", err, out)
	}
	if !res.Resumed || res.ShareID != st.ShareID {
		t.Fatalf("the second push did not resume share %s: %+v", st.ShareID, res)
	}
	if res.URL != p.URL+"/files/"+st.ShareID {
		t.Errorf("url = %q", res.URL)
	}
	// Chunks the server held after the kill are never sent again; one
	// in flight at the kill may have landed since.
	if res.ChunksSkipped < heldAfterKill {
		t.Errorf("skipped %d chunks, but the server held %d", res.ChunksSkipped, heldAfterKill)
	}
	missing := total - res.ChunksSkipped
	missingBytes := size - int64(res.ChunksSkipped)*chunkSize
	if size%chunkSize != 0 {
		t.Fatal("the test assumes whole chunks")
	}
	if res.BytesSent != missingBytes {
		t.Errorf("bytes_sent = %d, want %d (%d missing chunks)", res.BytesSent, missingBytes, missing)
	}
	// On the wire: the missing chunks' bytes plus each request's multipart
	// framing (about 1 KiB: seven parts and their headers), nothing more.
	wire := p.reqBytes()
	if wire < missingBytes || wire > missingBytes+int64(missing)*2048 {
		t.Errorf("second push sent %d body bytes; the %d missing chunks hold %d", wire, missing, missingBytes)
	}
	t.Logf("push of %d MiB killed with %d/%d chunks held; the rerun sent %d body bytes for %d chunks (%d bytes of file)",
		size>>20, heldAfterKill, total, wire, missing, missingBytes)
	want := fileSHA(t, src)
	if res.SHA256 != want {
		t.Errorf("sha256 = %s, want %s", res.SHA256, want)
	}
	if got := contentSHA(t, c.s, st.ShareID, c.token); got != want {
		t.Errorf("the server's content hashes to %s, the file to %s", got, want)
	}
	expect(t, c.s.req("GET", statusPath(st.ShareID, st.UploadID), c.token, nil), 404)
	if files, _ := filepath.Glob(filepath.Join(c.home, "state", "sachet", "push", "*.json")); len(files) != 0 {
		t.Errorf("resume state left after a finished push: %v", files)
	}
	c.shareID = st.ShareID
}

func cliPullResume(t *testing.T, c *cli, src string, size int64) {
	if c.shareID == "" {
		t.Fatal("no share to work on: the push subtest failed before this one")
	}
	p := newCountingProxy(t, c.s.URL)
	p.rate.Store(64 << 20)
	dest := filepath.Join(c.home, "pulled.bin")
	cmd := c.command("pull", "--server", p.URL, c.shareID, "-o", dest)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killAt := size/10 + rand.Int64N(size/2)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			t.Fatalf("pull ended (%v) before %d bytes; stderr: %s", err, killAt, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the pull made no progress")
		}
		if fi, err := os.Stat(dest + ".part"); err == nil && fi.Size() >= killAt {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	within(t, time.Minute, "the killed client's exit", exited)
	fi, err := os.Stat(dest + ".part")
	if err != nil {
		t.Fatal(err)
	}
	have := fi.Size()
	if have >= size {
		t.Fatalf("the whole file arrived before the kill")
	}

	p.reset()
	out := c.must("pull", "--server", p.URL, c.shareID, "-o", dest, "--json")
	var res struct {
		ResumedFrom   int64  `json:"resumed_from"`
		BytesReceived int64  `json:"bytes_received"`
		SHA256        string `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pull --json: %v: %s", err, out)
	}
	if res.ResumedFrom != have || res.BytesReceived != size-have {
		t.Errorf("resumed_from %d, bytes_received %d; want %d and %d", res.ResumedFrom, res.BytesReceived, have, size-have)
	}
	if got := p.respBytes(); got != size-have {
		t.Errorf("second pull received %d content bytes, want the remaining %d", got, size-have)
	}
	t.Logf("pull of %d MiB killed at %d bytes; the rerun received %d bytes (the remaining %d)", size>>20, have, p.respBytes(), size-have)
	if !sameFile(t, src, dest) {
		t.Error("the pulled file differs from the pushed one")
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Errorf("partial file left: %v", err)
	}
}

func cliCommands(t *testing.T, c *cli) {
	if c.shareID == "" {
		t.Fatal("no share to work on: the push subtest failed before this one")
	}
	// Credentials: only their owner may read them.
	for path, want := range map[string]os.FileMode{
		filepath.Join(c.home, "config", "sachet"):                     0o700 | os.ModeDir,
		filepath.Join(c.home, "config", "sachet", "credentials.json"): 0o600,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, want)
		}
	}
	var list []struct {
		ShareID string `json:"share_id"`
		Size    int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(c.must("ls", "--json")), &list); err != nil || len(list) == 0 {
		t.Fatalf("ls --json: %v %v", list, err)
	}
	if out := c.must("ls"); !strings.Contains(out, c.shareID) {
		t.Errorf("ls does not list %s:\n%s", c.shareID, out)
	}
	small := filepath.Join(c.home, "small.txt")
	os.WriteFile(small, []byte("hello\n"), 0o644)
	url := strings.TrimSpace(c.must("push", small))
	id := url[strings.LastIndexByte(url, '/')+1:]

	other := newCLI(t, c.bin, c.s)
	other.loginAs("reader", "READ")
	nobody := newCLI(t, c.bin, c.s)
	keyed := newCLI(t, c.bin, c.s)
	wrongPW := filepath.Join(nobody.home, "pw")
	os.WriteFile(wrongPW, []byte("nope\n"), 0o600)

	for _, tc := range []struct {
		name string
		cli  *cli
		args []string
		want int
	}{
		{"Lock", c, []string{"lock", id}, 0},
		{"RmLocked", c, []string{"rm", id}, 6},
		{"Unlock", c, []string{"unlock", url}, 0},
		{"PullByURL", c, []string{"pull", url, "-o", filepath.Join(c.home, "small.copy")}, 0},
		{"Rm", c, []string{"rm", id}, 0},
		{"PullMissing", c, []string{"pull", id}, 5},
		{"RmMissing", c, []string{"rm", "--json", id}, 5},
		{"PushWithoutPermission", other, []string{"push", small}, 4},
		{"NotLoggedIn", nobody, []string{"push", small}, 3},
		{"WrongPassword", nobody, []string{"login", c.s.URL, "--username", "pusher", "--password-file", wrongPW}, 3},
		{"NoSuchFile", c, []string{"push", filepath.Join(c.home, "absent")}, 1},
		{"Usage", c, []string{"pull"}, 2},
		{"UnknownFlag", c, []string{"ls", "--bogus"}, 2},
		{"Unreachable", c, []string{"ls", "--server", "http://127.0.0.1:1"}, 8},
		{"Help", c, []string{"help"}, 0},
		{"Logout", other, []string{"logout"}, 0},
		{"AfterLogout", other, []string{"ls"}, 3},
		// API keys are kept, but the server does not take them yet.
		{"KeyKept", keyed, []string{"login", c.s.URL, "--key", "sk_not_yet"}, 0},
		{"KeyRefused", keyed, []string{"ls"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := tc.cli.run(tc.args...)
			if code != tc.want {
				t.Errorf("sachet %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
			}
		})
	}
	if !sameFile(t, small, filepath.Join(c.home, "small.copy")) {
		t.Error("pull by URL: the copy differs")
	}
	// --json errors are JSON too, with the exit status.
	_, errOut, _ := c.run("pull", "--json", id)
	var e struct {
		Error      string `json:"error"`
		ExitStatus int    `json:"exit_status"`
	}
	if err := json.Unmarshal([]byte(errOut), &e); err != nil || e.ExitStatus != 5 || e.Error == "" {
		t.Errorf("--json error: %q (%v)", errOut, err)
	}
	if out := c.must("help"); !strings.Contains(out, "Exit status:") {
		t.Errorf("help does not document the exit statuses:\n%s", out)
	}
}

// progressFile is a file big enough, through a slowed proxy, for the
// progress display to draw several times.
func (c *cli) progressFile(t *testing.T) (path string, proxy *countingProxy) {
	path = filepath.Join(c.home, "progress.bin")
	writeRandomFile(t, path, 12<<20)
	proxy = newCountingProxy(t, c.s.URL)
	proxy.rate.Store(6 << 20)
	return path, proxy
}

func cliProgressTTY(t *testing.T, c *cli) {
	path, p := c.progressFile(t)
	cmd := c.command("push", "--server", p.URL, "--chunk-size", "1048576", path)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, tty); close(copied) }() // ends with EIO when the child exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("push on a terminal: %v\n%s", err, out.String())
	}
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
	}
	o := out.String()
	// A bar redrawn in place (\r), with bytes, a rate and an ETA:
	// " 50% |██████████          | (6.0/12 MiB, 6.0 MiB/s) [1s:1s]".
	for _, want := range []string{"\r", "%", "|", "/files/"} {
		if !strings.Contains(o, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, o)
		}
	}
	// Bytes done of the total, the rate and [elapsed:ETA].
	if !regexp.MustCompile(`\([0-9.]+/[0-9.]+ [KM]iB, [0-9.]+ [KM]iB/s\) \[[0-9ms]+:[0-9ms]+\]`).MatchString(o) {
		t.Errorf("no bar with bytes, rate and ETA in the terminal output:\n%q", o)
	}
	if strings.Contains(o, "done in") || strings.Contains(o, "ETA ") {
		t.Errorf("plain progress lines on a terminal:\n%q", o)
	}
	t.Logf("terminal output: %.400q", o)
}

func cliProgressPlain(t *testing.T, c *cli) {
	path, p := c.progressFile(t)
	out, errOut, code := c.run("push", "--server", p.URL, "--chunk-size", "1048576", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "\x1b") || strings.Contains(errOut, "█") {
		t.Errorf("terminal control in plain output:\n%q", errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	// "push progress.bin: 12.0 MiB", lines with "ETA" every 2 s if it
	// lasts that long, then "push progress.bin: 12.0 MiB done in 2.1s (5.7 MiB/s)".
	if len(lines) < 2 || lines[0] != "push progress.bin: 12.0 MiB" || !strings.Contains(lines[len(lines)-1], "done in") {
		t.Errorf("want plain progress lines from the size to a summary, got:\n%s", errOut)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.Contains(l, "ETA") {
			t.Errorf("progress line without an ETA: %q", l)
		}
	}
	if !strings.Contains(out, "/files/") {
		t.Errorf("stdout lacks the share URL: %q", out)
	}
}

// ---- helpers ----

// countingProxy forwards to the server and counts the content bytes that
// cross it: request bodies of chunk uploads, response bodies of
// downloads. rate, when set, slows those bodies to that many bytes a
// second, so that a transfer lasts long enough to be killed part-way.
type countingProxy struct {
	URL  string
	rate atomic.Int64
	// counts is replaced by reset: a body keeps counting into the counts
	// of its request's time, so the bytes of a killed client's request,
	// still buffered in the kernel and read after the kill, are never
	// counted as the next run's.
	counts atomic.Pointer[proxyCounts]
}

type proxyCounts struct{ req, resp atomic.Int64 }

func (p *countingProxy) reqBytes() int64  { return p.counts.Load().req.Load() }
func (p *countingProxy) respBytes() int64 { return p.counts.Load().resp.Load() }

func newCountingProxy(t *testing.T, target string) *countingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{}
	p.counts.Store(new(proxyCounts))
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0) // a killed client's requests fail here, as they should
	rp.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		content := strings.HasSuffix(req.URL.Path, "/content")
		counts := p.counts.Load()
		if content && req.Body != nil {
			req.Body = &countingBody{ReadCloser: req.Body, n: &counts.req, rate: &p.rate}
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil && content && req.Method == http.MethodGet {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &counts.resp, rate: &p.rate}
		}
		return resp, err
	})
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// reset zeroes the counts and lifts the rate limit.
func (p *countingProxy) reset() {
	p.rate.Store(0)
	p.counts.Store(new(proxyCounts))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countingBody struct {
	io.ReadCloser
	n    *atomic.Int64
	rate *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if r := b.rate.Load(); r > 0 && len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if r := b.rate.Load(); r > 0 && n > 0 {
		time.Sleep(time.Duration(int64(n) * int64(time.Second) / r))
	}
	return n, err
}

// writeRandomFile writes size pseudo-random bytes to path.
func writeRandomFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seed [32]byte
	copy(seed[:], path)
	if _, err := io.CopyN(f, rand.NewChaCha8(seed), size); err != nil {
		t.Fatal(err)
	}
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// contentSHA streams a share's content and hashes it (not through the
// validating client, which would hold it all in memory).
func contentSHA(t *testing.T, s *server, id, token string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", s.URL+"/files/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("content: %d", resp.StatusCode)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameFile compares two files byte for byte.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF)
		}
	}
}
