package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTestApp(t *testing.T, cfg Config) *App {
	t.Helper()
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func testConfig(t *testing.T) Config {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = "sqlite:" + filepath.Join(cfg.DataDir, "sachet.db")
	cfg.BcryptCost = 4
	return cfg
}

// serveApp runs a.Serve on a loopback port; stop ends it and returns its error.
func serveApp(t *testing.T, a *App) (url string, done <-chan error, stop context.CancelFunc) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ln) }()
	t.Cleanup(cancel)
	return "http://" + ln.Addr().String(), errc, cancel
}

// TestSecondServerOnSQLiteRefused: a second server on one SQLite file stops
// at once with a message that says why and what to do instead; operator
// commands still work beside the first; once the first has stopped, a
// server starts again.
func TestSecondServerOnSQLiteRefused(t *testing.T) {
	cfg := testConfig(t)
	first := openTestApp(t, cfg)
	url, firstDone, stopFirst := serveApp(t, first)
	waitHealthy(t, url)

	second := openTestApp(t, cfg)
	_, secondDone, _ := serveApp(t, second)
	select {
	case err := <-secondDone:
		if err == nil || !strings.Contains(err.Error(), "another sachet serve is already using the SQLite database") ||
			!strings.Contains(err.Error(), "mysql:") {
			t.Fatalf("second serve: %v, want a refusal naming the cause and MySQL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second serve on the same SQLite file did not stop")
	}

	// The CLI's commands open the same database beside the server.
	cli := openTestApp(t, cfg)
	if _, err := cli.Cleanup(context.Background()); err != nil {
		t.Fatalf("cleanup beside the server: %v", err)
	}
	if err := cli.CreateUser(context.Background(), "cli-user", "pw", 0); err != nil {
		t.Fatalf("user create beside the server: %v", err)
	}

	stopFirst()
	if err := <-firstDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("first serve: %v", err)
	}
	third := openTestApp(t, cfg)
	url3, _, _ := serveApp(t, third)
	waitHealthy(t, url3)
}

// TestPeriodicCleanupLease: with two servers on one database, one period's
// cleanup runs in one of them; the other takes over when the holder stops
// renewing.
func TestPeriodicCleanupLease(t *testing.T) {
	cfg := testConfig(t)
	a, b := openTestApp(t, cfg), openTestApp(t, cfg)
	ctx := context.Background()
	const every = 500 * time.Millisecond
	ran := func(x *App) bool {
		t.Helper()
		ok, err := x.periodicCleanup(ctx, every)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !ran(a) {
		t.Fatal("first cleanup did not run")
	}
	if ran(b) {
		t.Fatal("b ran a cleanup while a held the lease")
	}
	if !ran(a) {
		t.Fatal("the holder could not renew its lease")
	}
	// a stops renewing (as if it died); b takes over once the lease runs out.
	deadline := time.Now().Add(10 * every)
	for !ran(b) {
		if time.Now().After(deadline) {
			t.Fatal("b never took over the cleanup lease")
		}
		time.Sleep(every / 5)
	}
	if ran(a) {
		t.Fatal("a ran a cleanup after b took the lease over")
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
