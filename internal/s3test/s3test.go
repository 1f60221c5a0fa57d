// Package s3test runs a real S3 server for tests: versitygw (v1.8.0) with
// its posix backend on a temporary directory, on loopback. Never a fake.
//
// The binary is found at $SACHET_TEST_VERSITYGW, else on PATH, else in
// $(go env GOPATH)/bin. When it is missing the test is skipped, loudly,
// except in CI (CI=true), where it fails: `scripts/test-deps` installs it.
package s3test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Access and Secret are the credentials every Server accepts.
const (
	Access = "sachet-test-access"
	Secret = "sachet-test-secret-key-0123456789"
)

// Server is a running versitygw.
type Server struct {
	t        testing.TB
	bin      string
	Dir      string // the posix backend's root: one folder per bucket
	Addr     string // host:port
	Endpoint string // http://host:port
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *bytes.Buffer
}

// Binary returns versitygw's path, or "" if it is not installed.
func Binary() string {
	if p := os.Getenv("SACHET_TEST_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// Required says a missing versitygw fails the test instead of skipping
// it: in CI, and under `make test`, whose scripts/test-deps installs it.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("SACHET_TEST_REQUIRE_SERVICES") != ""
}

// Start runs versitygw on a free loopback port over a fresh temporary
// directory, with bucket created, and stops it when the test ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if Required() {
			t.Fatal("versitygw is required (CI or make test) but was not found (SACHET_TEST_VERSITYGW, PATH, $(go env GOPATH)/bin): run scripts/test-deps")
		}
		t.Skip("!!! SKIPPING S3 TESTS: versitygw not found (set SACHET_TEST_VERSITYGW, or go install github.com/versity/versitygw/cmd/versitygw@v1.8.0) !!!")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, Dir: dir, log: &bytes.Buffer{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	ln.Close()
	s.Endpoint = "http://" + s.Addr
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("versitygw output:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	s.Restart()
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 1<<20 {
		w.b.Reset()
	}
	return w.b.Write(p)
}

// Restart starts the server again (after Stop) on the same address and
// directory, and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.run(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) run() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("versitygw is already running")
	}
	cmd := exec.Command(s.bin, "--port", s.Addr, "--access", Access, "--secret", Secret, "posix", s.Dir)
	cmd.Stdout = lockedWriter{&s.mu, s.log}
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("starting versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			s.mu.Lock()
			out := s.log.String()
			s.mu.Unlock()
			return fmt.Errorf("versitygw exited at start: %v\n%s", cmd.ProcessState, out)
		default:
		}
		// Any HTTP answer (403 without a signature) means it is serving.
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw not answering on %s after 30 s: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartShared starts a server that outlives any one test, for a package's
// tests to share (TestMain stops it): dir is its root, bucket created.
// The error is ErrNotInstalled when there is no binary.
func StartShared(dir, bucket string) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, ErrNotInstalled
	}
	if err := os.MkdirAll(filepath.Join(dir, bucket), 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, Dir: dir, log: &bytes.Buffer{}, Addr: ln.Addr().String()}
	ln.Close()
	s.Endpoint = "http://" + s.Addr
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// Pid is the running server's process id, 0 if it is not running (the
// bench reads its CPU time).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// ErrNotInstalled: versitygw was not found.
var ErrNotInstalled = errors.New("versitygw not found (set SACHET_TEST_VERSITYGW, or go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")

// Stop kills the server (SIGKILL: S3 going away without a goodbye) and
// waits for it to be gone.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		if s.t != nil {
			s.t.Errorf("versitygw (pid %d) did not die", cmd.Process.Pid)
		}
	}
}

// Env is the environment a `sachet serve` needs to use this server's
// bucket under prefix.
func (s *Server) Env(bucket, prefix string) []string {
	return []string{
		"SACHET_STORAGE=" + s.Storage(bucket, prefix),
		"SACHET_S3_ENDPOINT=" + s.Endpoint,
		"SACHET_S3_REGION=us-east-1",
		"SACHET_S3_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + Access,
		"AWS_SECRET_ACCESS_KEY=" + Secret,
	}
}

// Storage is the SACHET_STORAGE value for bucket and prefix.
func (s *Server) Storage(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s", bucket, prefix)
}
