package tests

// Faults in what Sachet depends on: the database going away (through a TCP
// proxy the test cuts, never by stopping the shared MariaDB), the disk
// filling up or turning read-only, clients vanishing mid-chunk, and SIGTERM
// with transfers in flight (the real binary).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/internal/s3test"
)

// ---- a TCP proxy the test can cut ----

type obProxyMode int

const (
	proxyForward   obProxyMode = iota
	proxyRefuse                // the port is closed: connection refused
	proxyBlackhole             // connections are accepted, nothing comes back
)

// obProxy forwards TCP connections to target until cut.
type obProxy struct {
	t      testing.TB
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener
	mode   obProxyMode
	conns  map[net.Conn]bool // → frozen
	closed bool
}

func obNewProxy(t testing.TB, target string) *obProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &obProxy{t: t, target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}}
	go p.accept(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		if p.ln != nil {
			p.ln.Close()
		}
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *obProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.conns[c] = mode == proxyBlackhole
		p.mu.Unlock()
		if mode == proxyBlackhole {
			go p.swallow(c)
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.drop(c)
			continue
		}
		p.mu.Lock()
		p.conns[up] = false
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst until either ends or the pair is frozen, when it
// swallows what src sends, forever.
func (p *obProxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen(src) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if !p.frozen(src) {
		p.drop(src)
		p.drop(dst)
	}
}

func (p *obProxy) swallow(c net.Conn) {
	io.Copy(io.Discard, c)
}

func (p *obProxy) frozen(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[c]
}

func (p *obProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// cut makes the database unreachable: refuse closes the port and every
// connection; blackhole keeps them open but lets nothing through.
func (p *obProxy) cut(mode obProxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	switch mode {
	case proxyRefuse:
		p.ln.Close()
		p.ln = nil
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
	case proxyBlackhole:
		for c := range p.conns {
			p.conns[c] = true
		}
	}
}

// restore lets connections through again; connections frozen by a
// blackhole are closed (their streams are garbage now).
func (p *obProxy) restore() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, frozen := range p.conns {
		if frozen {
			c.Close()
			delete(p.conns, c)
		}
	}
	p.mode = proxyForward
	if p.ln == nil {
		var err error
		for i := 0; i < 50; i++ {
			if p.ln, err = net.Listen("tcp", p.addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			p.t.Fatalf("re-listening on %s: %v", p.addr, err)
		}
		go p.accept(p.ln)
	}
}

// ---- the database goes away ----

// obTimed is a request's outcome and how long it took.
type obTimed struct {
	what   string
	status int
	msg    string
	took   time.Duration
}

// TestFaultDatabaseGone cuts the connection to MariaDB in two ways while the
// server runs: requests that need the database answer 503 saying so, within
// a bounded time; nothing half-written is left; and the server recovers by
// itself when the database is back.
func TestFaultDatabaseGone(t *testing.T) {
	t.Parallel()
	real := freshMySQL(t) // "mysql:<dsn>"
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(real, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := obNewProxy(t, cfg.Addr)
	cfg.Addr = proxy.addr
	// Short connect and I/O timeouts bound how long a request waits for a
	// database that does not answer.
	cfg.Timeout = 2 * time.Second
	cfg.ReadTimeout = 5 * time.Second
	cfg.WriteTimeout = 5 * time.Second
	// No read cache, so that every request below meets the outage; reads
	// cached within SACHET_CACHE_TTL before it would still be served (see
	// TestFaultCachedReadsOutliveAnOutage).
	s := startWith(t, serverOpts{dialect: "mysql", database: "mysql:" + cfg.FormatDSN(),
		mutate: func(c *app.Config) { c.CacheTTL = 0 }})
	alice := s.user("alice", "CREATE", "MODIFY", "READ", "LIST")

	a := s.newShare(alice, "a.bin")
	v1 := randBytes(600 << 10)
	s.upload("POST", a, alice, v1, 256<<10)

	for _, mode := range []struct {
		name  string
		mode  obProxyMode
		bound time.Duration
	}{
		{"refused", proxyRefuse, 4 * time.Second},
		// A silent database costs at most the driver's read timeout.
		{"blackhole", proxyBlackhole, 12 * time.Second},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := s.on(t)
			// An upload with one chunk of two acknowledged.
			b := s.newShare(alice, "b.bin")
			part0, part1 := randBytes(300<<10), randBytes(200<<10)
			expect(t, s.sendChunk("POST", b, alice, chunk{UUID: "b-" + mode.name, Index: 0, Total: 2, Data: part0}), 200)
			// A chunk streaming in when the database goes.
			c := obDial(t, s)
			head, body, tail := obChunkRequest(s, "POST", b, alice, "b-"+mode.name, 1, 2, part1)
			c.Write(head)
			c.Write(body[:100<<10])
			time.Sleep(200 * time.Millisecond) // the handler has loaded the share and is streaming

			s.allow5xx = true
			proxy.cut(mode.mode)
			cutAt := time.Now()
			c.Write(body[100<<10:])
			c.Write(tail)

			// Meanwhile, everything that needs the database.
			var wg sync.WaitGroup
			var mu sync.Mutex
			var results []obTimed
			run := func(what string, fn func() reply) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t0 := time.Now()
					r := fn()
					mu.Lock()
					results = append(results, obTimed{what, r.Status, r.Message(), time.Since(t0)})
					mu.Unlock()
				}()
			}
			run("whoami", func() reply { return s.req("GET", "/whoami", alice, nil) })
			run("getShare", func() reply { return s.req("GET", "/files/"+a, alice, nil) })
			run("listShares", func() reply { return s.req("GET", "/files", alice, nil) })
			run("createShare", func() reply { return s.req("POST", "/files", alice, map[string]string{"file_name": "x"}) })
			run("login", func() reply {
				return s.req("POST", "/users/login", "", map[string]string{"username": "alice", "password": "alice-pw"})
			})
			run("download", func() reply { return s.content(a, alice) })
			run("replaceContent", func() reply {
				return s.sendChunk("PUT", a, alice, chunk{UUID: "r-" + mode.name, Index: 0, Total: 1, Data: randBytes(1000)})
			})
			run("readyz", func() reply { return s.req("GET", "/readyz", "", nil) })
			wg.Wait()
			for _, r := range results {
				t.Logf("%-14s %d %-40q in %v", r.what, r.status, r.msg, r.took.Round(time.Millisecond))
				if r.status != 503 {
					t.Errorf("%s during the outage: %d %q, want 503", r.what, r.status, r.msg)
				} else if !strings.Contains(strings.ToLower(r.msg), "database") {
					t.Errorf("%s: 503 message %q does not say the database is the problem", r.what, r.msg)
				}
				if r.took > mode.bound {
					t.Errorf("%s took %v, want at most %v", r.what, r.took, mode.bound)
				}
			}
			// The chunk that was streaming in.
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("the in-flight chunk got no answer: %v", err)
			}
			msg, _ := io.ReadAll(resp.Body)
			t.Logf("in-flight chunk: %d %s after %v", resp.StatusCode, msg, time.Since(cutAt).Round(time.Millisecond))
			if resp.StatusCode != 503 {
				t.Errorf("in-flight chunk: %d %s, want 503", resp.StatusCode, msg)
			}
			// The process is alive all along.
			expect(t, s.req("GET", "/healthz", "", nil), 200)

			proxy.restore()
			restored := time.Now()
			obEventually(t, 20*time.Second, "the server did not recover after the database came back", func() bool {
				return s.req("GET", "/whoami", alice, nil).Status == 200
			})
			t.Logf("recovered %v after the database came back", time.Since(restored).Round(time.Millisecond))
			s.allow5xx = false
			expect(t, s.req("GET", "/readyz", "", nil), 200)

			// Nothing half-written: a keeps v1, b is still unfinished and
			// completes with the re-sent chunk, no stray files.
			if got := s.content(a, alice); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(v1) {
				t.Errorf("share a after the outage: %d, sha %s", got.Status, sha256Hex(got.Body))
			}
			if sh := obShare(t, s, b); sh["initialized"] != false {
				t.Errorf("share b initialized by a chunk that failed: %v", sh)
			}
			if n := obSweepOrphans(t, s); n > 1 {
				t.Errorf("%d orphans swept after the outage, want at most the in-flight chunk", n)
			}
			obNoStrayFiles(t, s)
			expect(t, s.sendChunk("POST", b, alice, chunk{UUID: "b-" + mode.name, Index: 1, Total: 2, Data: part1}), 201)
			if got := s.content(b, alice); sha256Hex(got.Body) != sha256Hex(append(append([]byte{}, part0...), part1...)) {
				t.Errorf("share b's content after completing: %d bytes", len(got.Body))
			}
			obNoStrayFiles(t, s)
		})
	}
}

// ---- the disk fills up or turns read-only ----

// obTmpfs mounts a tmpfs of the given size, or skips when this sandbox
// does not allow mounting.
func obTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("!!! SKIPPING: cannot mount a tmpfs here (%v: %s); TestFaultFileSizeLimit covers a full disk with RLIMIT_FSIZE instead !!!", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFaultDiskFull: with the data dir on a 4 MiB tmpfs, an upload that
// does not fit is 507 with a message saying so, the share keeps its
// content, and no temporary file stays. Remounted read-only: uploads are
// 507, /readyz is 503, downloads still work.
func TestFaultDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("!!! SKIPPING: mounting a tmpfs needs root !!!")
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			data := obTmpfs(t, "4m")
			opts := serverOpts{dialect: d, dataDir: data, mutate: func(c *app.Config) {
				// The SQLite file lives elsewhere: this is about blob storage.
				if d == "sqlite" {
					c.Database = "sqlite:" + filepath.Join(t.TempDir(), "sachet.db")
				}
			}}
			if onS3() {
				// The bucket's disk fills: a versitygw of its own, with its
				// root on the tmpfs (stopped before the tmpfs goes).
				srv, err := s3test.StartShared(data, s3Bucket)
				if err != nil {
					t.Fatalf("versitygw: %v", err)
				}
				t.Cleanup(srv.Stop)
				opts.dataDir = ""
				opts.mutate = func(c *app.Config) {
					c.Storage = srv.Storage(s3Bucket, "full/")
					c.S3Endpoint, c.S3PathStyle, c.S3Region = srv.Endpoint, true, "us-east-1"
				}
			}
			s := startWith(t, opts)
			// S3 has no answer for a full or read-only disk (versitygw says
			// 500 "No space left on device"): the bucket's server failed,
			// 503, retry later. The filesystem store knows: 507.
			fullStatus, roWords, readyWords := 507, "read-only", "data directory"
			if onS3() {
				fullStatus, roWords, readyWords = 503, "storage", "bucket"
			}
			id := s.newShare(s.admin, "keep.bin")
			v1 := randBytes(512 << 10)
			s.upload("POST", id, s.admin, v1, 256<<10)

			// 6 MiB in 1 MiB chunks into what is left of 4 MiB.
			s.allow5xx = true
			big := randBytes(6 << 20)
			var full reply
			for i := 0; i < 6; i++ {
				r := s.sendChunk("PUT", id, s.admin, chunk{UUID: "big", Index: i, Total: 6, Data: big[i<<20 : (i+1)<<20]})
				if r.Status == fullStatus {
					full = r
					t.Logf("chunk %d: %d %q", i, r.Status, r.Message())
					break
				}
				if r.Status != 200 {
					t.Fatalf("chunk %d: %d %s", i, r.Status, r.Body)
				}
			}
			if full.Status != fullStatus || !strings.Contains(full.Message(), "storage") {
				t.Fatalf("no %d naming the storage while filling the disk: %d %q", fullStatus, full.Status, full.Message())
			}
			if got := s.content(id, s.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(v1) {
				t.Errorf("content after the disk filled: %d, sha %s", got.Status, sha256Hex(got.Body))
			}
			obNoStrayFiles(t, s)
			// Deleting the unfinished upload's share frees the space: the
			// server works again without a restart.
			expect(t, s.req("GET", "/whoami", s.admin, nil), 200)

			// Read-only.
			if out, err := exec.Command("mount", "-o", "remount,ro", data).CombinedOutput(); err != nil {
				t.Fatalf("remount ro: %v %s", err, out)
			}
			r := s.sendChunk("PUT", id, s.admin, chunk{UUID: "ro", Index: 0, Total: 1, Data: randBytes(1000)})
			if r.Status != fullStatus || !strings.Contains(r.Message(), roWords) {
				t.Errorf("upload to a read-only store: %d %q, want %d saying %s", r.Status, r.Message(), fullStatus, roWords)
			}
			r = expect(t, s.req("GET", "/readyz", "", nil), 503)
			if !strings.Contains(r.Message(), readyWords) {
				t.Errorf("readyz: %q", r.Message())
			}
			if got := s.content(id, s.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(v1) {
				t.Errorf("download from a read-only data dir: %d", got.Status)
			}
			if out, err := exec.Command("mount", "-o", "remount,rw", data).CombinedOutput(); err != nil {
				t.Fatalf("remount rw: %v %s", err, out)
			}
			s.allow5xx = false
			expect(t, s.req("GET", "/readyz", "", nil), 200)
			obNoStrayFiles(t, s)
		})
	}
}

// ---- the real binary ----

// obProc is a `sachet serve` subprocess.
type obProc struct {
	cmd  *exec.Cmd
	URL  string
	out  *obLockedBuffer
	done chan error
}

// obServe starts bin (through wrapper args, if any) with env and waits
// until it answers /healthz.
func obServe(t *testing.T, env []string, argv ...string) *obProc {
	t.Helper()
	addr := freeAddr(t)
	p := &obProc{URL: "http://" + addr, out: &obLockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(append(os.Environ(), env...), "SACHET_ADDR="+addr)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		select { // a cleanup reports, and lets the others run
		case <-p.done:
		case <-time.After(time.Minute):
			t.Errorf("sachet (pid %d) had not exited a minute after SIGKILL", p.cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("sachet output:\n%s", p.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("sachet exited: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sachet did not come up\n%s", p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// obClient talks to a subprocess with spec validation.
func obClient(t *testing.T, p *obProc) *server {
	s := &server{t: t, URL: p.URL}
	s.client = &http.Client{Transport: &validatingTransport{s: s, base: http.DefaultTransport}}
	return s
}

// obBootstrap creates the admin with the CLI and gives it every permission.
func obBootstrap(t *testing.T, s *server, bin string, env []string) {
	t.Helper()
	cmd := exec.Command(bin, "user", "create", "--username", "admin", "--password", "admin-pw", "--admin")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sachet user create: %v %s", err, out)
	}
	s.admin = s.login("admin", "admin-pw")
	expect(t, s.req("PATCH", "/users/admin", s.admin, map[string]any{"permissions": []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}}), 200)
}

// TestObRlimitHelper is not a test: run as a subprocess with
// OB_RLIMIT_FSIZE set, it lowers RLIMIT_FSIZE and becomes the command in
// its arguments after "--".
func TestObRlimitHelper(t *testing.T) {
	lim := os.Getenv("OB_RLIMIT_FSIZE")
	if lim == "" {
		t.Skip("helper process for TestFaultFileSizeLimit")
	}
	n, _ := strconv.ParseUint(lim, 10, 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(2)
}

// TestFaultFileSizeLimit: the real binary under RLIMIT_FSIZE (files can't
// grow past 1 MiB: EFBIG, as on a full disk) answers an oversized chunk
// 507 with a clear message, keeps the share's content and removes the
// partial file. It works where mounting a small filesystem is not allowed.
func TestFaultFileSizeLimit(t *testing.T) {
	t.Parallel()
	bin := buildSachet(t)
	dir := t.TempDir()
	env := []string{"SACHET_DATA_DIR=" + dir, "SACHET_BCRYPT_COST=4", "SACHET_DATABASE=" + freshMySQL(t)}
	p := obServe(t, append(env, "OB_RLIMIT_FSIZE="+strconv.Itoa(1<<20)), os.Args[0], "-test.run=^TestObRlimitHelper$", "--", bin, "serve")
	s := obClient(t, p)
	s.Cfg.DataDir = dir
	obBootstrap(t, s, bin, env)
	id := s.newShare(s.admin, "k.bin")
	v1 := randBytes(700 << 10)
	s.upload("POST", id, s.admin, v1, 512<<10)
	s.allow5xx = true
	r := s.sendChunk("PUT", id, s.admin, chunk{UUID: "big", Index: 0, Total: 1, Data: randBytes(3 << 20)})
	if r.Status != 507 || !strings.Contains(r.Message(), "storage") {
		t.Fatalf("a chunk past RLIMIT_FSIZE: %d %q, want 507 naming the storage", r.Status, r.Message())
	}
	t.Logf("oversized chunk: %d %q", r.Status, r.Message())
	if got := s.content(id, s.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(v1) {
		t.Errorf("content: %d, sha %s", got.Status, sha256Hex(got.Body))
	}
	obEventually(t, 5*time.Second, "blobs/tmp not empty", func() bool { return len(obFiles(t, s, "tmp")) == 0 })
	// Still serving, still accepting what fits.
	s.allow5xx = false
	s.upload("PUT", id, s.admin, randBytes(900<<10), 300<<10)
}

// ---- clients that vanish ----

// TestFaultClientDisconnect: a client that disconnects mid-chunk leaves no
// file behind and the share unchanged; the upload can be finished later.
func TestFaultClientDisconnect(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		id := s.newShare(s.admin, "d.bin")
		v1 := randBytes(256 << 10)
		s.upload("POST", id, s.admin, v1, 1<<20)
		before := obShare(t, s, id)
		p0, p1 := randBytes(1<<20), randBytes(4<<20)
		expect(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "dc", Index: 0, Total: 2, Data: p0}), 200)

		// Chunk 1 follows chunk 0 in order: it streams onto the upload's
		// assembly file, which must be cut back when the client leaves.
		c := obDial(t, s)
		head, body, _ := obChunkRequest(s, "PUT", id, s.admin, "dc", 1, 2, p1)
		base := obPartialBytes(t, s)
		c.Write(head)
		c.Write(body[:5<<19])
		obWaitPartial(t, s, base)
		c.Close()
		t0 := time.Now()
		obEventually(t, 3*time.Second, "the partial chunk stayed after the client left", func() bool {
			return len(obFiles(t, s, "tmp")) == 0 && obPartialBytes(t, s) == base
		})
		t.Logf("partial chunk removed %v after the client left", time.Since(t0).Round(time.Millisecond))
		obNoStrayFiles(t, s)
		after := obShare(t, s, id)
		if after["sha256"] != before["sha256"] || after["size"] != before["size"] {
			t.Errorf("share changed: %v → %v", before, after)
		}
		expect(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "dc", Index: 1, Total: 2, Data: p1}), 201)
		if got := s.content(id, s.admin); sha256Hex(got.Body) != sha256Hex(append(append([]byte{}, p0...), p1...)) {
			t.Errorf("content after finishing: %d bytes", len(got.Body))
		}
		obNoStrayFiles(t, s)
	})
}

// ---- SIGTERM ----

// TestFaultSIGTERM: on SIGTERM, the real binary stops accepting connections
// at once, lets an upload and a download in flight finish, is gone within
// SACHET_SHUTDOWN_TIMEOUT even when a client hangs, and has lost nothing it
// acknowledged when it starts again.
func TestFaultSIGTERM(t *testing.T) {
	t.Parallel()
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dbDSN := "sqlite:" + filepath.Join(dir, "sachet.db")
			if d == "mysql" {
				dbDSN = freshMySQL(t)
			}
			const shutdown = 10 * time.Second
			env := []string{"SACHET_DATA_DIR=" + dir, "SACHET_DATABASE=" + dbDSN, "SACHET_BCRYPT_COST=4",
				"SACHET_SHUTDOWN_TIMEOUT=" + shutdown.String(), "SACHET_LOG_FORMAT=json"}
			p := obServe(t, env, bin, "serve")
			s := obClient(t, p)
			s.Cfg.DataDir = dir
			obBootstrap(t, s, bin, env)

			// Content to download slowly.
			dl := s.newShare(s.admin, "dl.bin")
			dlData := randBytes(12 << 20)
			s.upload("POST", dl, s.admin, dlData, 4<<20)
			// An upload whose last chunk will be in flight.
			up := s.newShare(s.admin, "up.bin")
			c0, c1 := randBytes(1<<20), randBytes(2<<20)
			expect(t, s.sendChunk("POST", up, s.admin, chunk{UUID: "u", Index: 0, Total: 2, Data: c0}), 200)

			// In flight: the last chunk, sent in 128 KiB pieces every 150 ms
			// (~2.5 s) ...
			uc := obDial(t, s)
			head, body, tail := obChunkRequest(s, "POST", up, s.admin, "u", 1, 2, c1)
			uc.Write(head)
			upDone := make(chan error, 1)
			go func() {
				for off := 0; off < len(body); off += 128 << 10 {
					if _, err := uc.Write(body[off:min(off+128<<10, len(body))]); err != nil {
						upDone <- err
						return
					}
					time.Sleep(150 * time.Millisecond)
				}
				uc.Write(tail)
				uc.SetReadDeadline(time.Now().Add(30 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(uc), nil)
				if err == nil && resp.StatusCode != 201 {
					b, _ := io.ReadAll(resp.Body)
					err = fmt.Errorf("last chunk: %d %s", resp.StatusCode, b)
				}
				upDone <- err
			}()
			// ... a download read at about 10 MiB/s ...
			dc := obDial(t, s)
			fmt.Fprintf(dc, "GET /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n\r\n", dl, s.admin)
			dlDone := make(chan error, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(dc), nil)
				if err != nil {
					dlDone <- err
					return
				}
				var got bytes.Buffer
				buf := make([]byte, 512<<10)
				for {
					n, err := io.ReadFull(resp.Body, buf)
					got.Write(buf[:n])
					if err == io.EOF || err == io.ErrUnexpectedEOF && got.Len() == len(dlData) {
						break
					}
					if err != nil {
						dlDone <- fmt.Errorf("download cut after %d bytes: %w", got.Len(), err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				if sha256Hex(got.Bytes()) != sha256Hex(dlData) {
					dlDone <- fmt.Errorf("download: %d bytes, wrong content", got.Len())
					return
				}
				dlDone <- nil
			}()
			// ... and a client that hangs mid-chunk and never finishes.
			hc := obDial(t, s)
			hhead, hbody, _ := obChunkRequest(s, "PUT", dl, s.admin, "hang", 0, 1, randBytes(2<<20))
			hc.Write(hhead)
			hc.Write(hbody[:256<<10])

			time.Sleep(500 * time.Millisecond)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			termAt := time.Now()
			// New connections are refused at once.
			obEventually(t, 2*time.Second, "new connections still accepted after SIGTERM", func() bool {
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), time.Second)
				if err != nil {
					return true
				}
				c.Close()
				return false
			})
			if err := within(t, time.Minute, "the upload in flight at SIGTERM", upDone); err != nil {
				t.Errorf("upload in flight at SIGTERM: %v", err)
			} else {
				t.Logf("upload in flight finished %v after SIGTERM", time.Since(termAt).Round(time.Millisecond))
			}
			if err := within(t, time.Minute, "the download in flight at SIGTERM", dlDone); err != nil {
				t.Errorf("download in flight at SIGTERM: %v", err)
			} else {
				t.Logf("download in flight finished %v after SIGTERM", time.Since(termAt).Round(time.Millisecond))
			}
			select {
			case err := <-p.done:
				took := time.Since(termAt)
				t.Logf("exited %v after SIGTERM: %v", took.Round(time.Millisecond), err)
				if err != nil {
					t.Errorf("exit status after SIGTERM: %v", err)
				}
				if took > shutdown+3*time.Second {
					t.Errorf("took %v to exit, shutdown timeout %v", took, shutdown)
				}
				p.done <- err // for the cleanup
			case <-time.After(shutdown + 10*time.Second):
				t.Fatalf("still running %v after SIGTERM", shutdown+10*time.Second)
			}
			// The log is JSON, line by line.
			for _, line := range strings.Split(strings.TrimSpace(p.out.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("SACHET_LOG_FORMAT=json, but a log line is not JSON: %q", line)
					break
				}
			}

			// Start again: what was acknowledged is there.
			p2 := obServe(t, env, bin, "serve")
			s2 := obClient(t, p2)
			s2.admin = s.admin
			if got := s2.content(up, s2.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(append(append([]byte{}, c0...), c1...)) {
				t.Errorf("the upload acknowledged during shutdown: %d, %d bytes", got.Status, len(got.Body))
			}
			if got := s2.content(dl, s2.admin); got.Status != 200 || sha256Hex(got.Body) != sha256Hex(dlData) {
				t.Errorf("the downloaded share after restart: %d", got.Status)
			}
		})
	}
}

// TestFaultCachedReadsOutliveAnOutage: with the read cache on, what was
// read just before the database went away is still served (metadata and
// content, whole) until SACHET_CACHE_TTL runs out; writes fail with 503 at
// once, and reads do too once the TTL has passed.
func TestFaultCachedReadsOutliveAnOutage(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	real := freshMySQL(t)
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(real, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := obNewProxy(t, cfg.Addr)
	cfg.Addr = proxy.addr
	cfg.Timeout = 2 * time.Second
	cfg.ReadTimeout = 5 * time.Second
	s := startWith(t, serverOpts{dialect: "mysql", database: "mysql:" + cfg.FormatDSN(),
		mutate: func(c *app.Config) { c.CacheTTL = ttl }})
	id := s.newShare(s.admin, "cached.bin")
	data := randBytes(300 << 10)
	s.upload("POST", id, s.admin, data, 128<<10)
	expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200)
	warmed := time.Now()

	s.allow5xx = true
	proxy.cut(proxyRefuse)
	defer proxy.restore()
	meta := s.req("GET", "/files/"+id, s.admin, nil)
	got := s.content(id, s.admin)
	write := s.req("POST", "/files", s.admin, nil)
	if time.Since(warmed) < ttl {
		expect(t, meta, 200)
		if expect(t, got, 200); !bytes.Equal(got.Body, data) {
			t.Fatalf("served %d bytes from the cached share, want %d", len(got.Body), len(data))
		}
	}
	if write.Status != 503 {
		t.Fatalf("a write during the outage: %d, want 503", write.Status)
	}
	time.Sleep(time.Until(warmed.Add(ttl + 200*time.Millisecond)))
	if r := s.req("GET", "/files/"+id, s.admin, nil); r.Status != 503 {
		t.Fatalf("a read after the TTL during the outage: %d, want 503", r.Status)
	}
}
