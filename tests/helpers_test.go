package tests

// The helpers every test file may use. Each exists once, here: before this
// file several test files carried their own copy under another name.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// ---- one server per database ----

// eachDB runs fn once per database, in parallel, each with a fresh server.
func eachDB(t *testing.T, fn func(t *testing.T, s *server)) {
	t.Helper()
	eachDBWith(t, nil, fn)
}

// eachDBWith is eachDB with a configuration change (mutate may be nil).
func eachDBWith(t *testing.T, mutate func(*app.Config), fn func(t *testing.T, s *server)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, start(t, d, mutate))
		})
	}
}

// eachKeyedDB is eachDB with a known secret key and no login throttle:
// these tests fail many logins on purpose from one address, and the
// throttle (a separate feature, tested on its own) would turn their 401s
// into 429s.
func eachKeyedDB(t *testing.T, fn func(t *testing.T, s *server)) {
	t.Helper()
	eachDBWith(t, func(c *app.Config) {
		c.SecretKey = contractSecretKey
		c.LoginMaxFailures = 0
	}, fn)
}

// on returns a copy of s whose helpers (req, login, user, setAnon) and
// response validation report to t, so a failing request inside a subtest
// stops that subtest and not the test that started the server.
func (s *server) on(t testing.TB) *server {
	c := *s
	c.t = t
	c.client = &http.Client{Transport: &validatingTransport{s: &c, base: http.DefaultTransport}}
	return &c
}

// ---- bytes ----

// randBytes is n random bytes: content no compression or dedup can help.
func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}

// randHex is n random bytes, hex-encoded (2n characters).
func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

// sha256Hex is the lowercase hex SHA-256 of b, as the API reports it.
func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ---- processes ----

// freeAddr is a loopback address nothing listens on, for a listener a
// server opens itself.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildSachet builds cmd/sachet into t's temporary directory, for the tests
// that run the real binary (crashes, signals, resource limits, the CLI).
func buildSachet(t *testing.T) string {
	t.Helper()
	// go test puts its own go first on PATH, so this finds the toolchain
	// running the tests.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH to build ./cmd/sachet: %v", err)
	}
	out := filepath.Join(t.TempDir(), "sachet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/sachet")
	cmd.Dir = ".."
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sachet: %v\n%s", err, b)
	}
	t.Logf("built %s in %v", out, time.Since(start).Round(time.Millisecond))
	return out
}

// ---- bounded waits ----

// within receives from ch (a value, or its closing), waiting at most d.
// A bare receive that never completes holds the test until the package's
// timeout and then says nothing of what it waited for; this fails t at once
// with what. Call it from the test's own goroutine (it may call t.Fatalf).
func within[T any](t testing.TB, d time.Duration, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: still waiting after %v", what, d)
	}
	var zero T
	return zero
}
