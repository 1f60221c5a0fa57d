//go:build unix

package tests

import (
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestServeRaisesFileLimit: serve lifts a low open-file soft limit to the
// hard limit and says so in its log. Not parallel: it lowers the limit of
// the whole test process for a moment.
func TestServeRaisesFileLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max <= 512 {
		t.Skipf("hard open-file limit %d: nothing to raise to", orig.Max)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 512, Max: orig.Max}); err != nil {
		t.Fatal(err)
	}
	var log obLockedBuffer
	s := startWith(t, serverOpts{logOut: &log, logLevel: slog.LevelInfo})
	expect(t, s.req("GET", "/whoami", s.admin, nil), 200) // Serve has started
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != orig.Max {
		t.Errorf("open-file soft limit %d after serve started, want the hard limit %d", now.Cur, orig.Max)
	}
	if out := log.String(); !strings.Contains(out, "raised the open-file limit") {
		t.Errorf("no log line for the raised limit in:\n%s", out)
	}
}

// TestDownloadOutOfFilesIs503: a download the server cannot open because
// the process is out of file descriptors is answered 503 with Retry-After
// and the JSON envelope, never 500; once descriptors are free again the
// same request succeeds. Not parallel: it lowers the open-file limit of the
// whole test process for a moment.
func TestDownloadOutOfFilesIs503(t *testing.T) {
	// One database after the other (not eachDB, whose subtests run in
	// parallel): the limit is the whole process's.
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) { outOfFiles(t, start(t, d, nil)) })
	}
}

// outOfFiles: see TestDownloadOutOfFilesIs503.
func outOfFiles(t *testing.T, s *server) {
	id := s.newShare(s.admin, "busy.bin")
	data := randBytes(64 << 10)
	s.upload("POST", id, s.admin, data, 1<<20)
	// Warm what the request needs (the share row, a pooled database
	// connection, the client's keep-alive connection).
	expect(t, s.content(id, s.admin), 200)

	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	// open(2) takes the lowest free number: once this one is taken,
	// every number below it is, and a limit just above forbids more.
	first, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	fill := []*os.File{first}
	defer func() {
		for _, f := range fill {
			f.Close()
		}
	}()
	low := syscall.Rlimit{Cur: uint64(first.Fd()) + 1, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	s.allow5xx = true
	var r reply
	// A descriptor the process closes meanwhile (a connection, a
	// file) frees a number: take those too, and try again.
	for range 5 {
		for {
			f, err := os.Open(os.DevNull)
			if err != nil {
				break
			}
			fill = append(fill, f)
		}
		if r = s.content(id, s.admin); r.Status == 503 {
			break
		}
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig)
	s.allow5xx = false

	if r.Status != 503 {
		t.Fatalf("download with no file descriptor left: %d %.200s, want 503", r.Status, r.Body)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" {
		t.Error("503 without Retry-After")
	}
	if m := r.Message(); !strings.Contains(m, "too many files open") {
		t.Errorf("message %q", m)
	}
	got := expect(t, s.content(id, s.admin), 200)
	if sha256Hex(got.Body) != sha256Hex(data) {
		t.Error("wrong content once descriptors are free again")
	}
}
