//go:build unix

package tests

import (
	"log/slog"
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
