package tests

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sachet-server/sachet/app"
)

// The data dir is private whatever already exists in it: directories
// 0700, files 0600 (the SQLite database, its WAL and shared-memory files,
// blobs, the key), and a data dir others could read is logged.
func TestHardenedFileModes(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			database := "sqlite:" + filepath.Join(dir, "sachet.db")
			if d == "mysql" {
				database = freshMySQL(t)
			}
			// A data dir an older version left behind, with lax modes.
			cfg := app.Defaults()
			cfg.DataDir, cfg.Database = dir, database
			a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			stray := filepath.Join(dir, "blobs", "blobs", "old-blob")
			if err := os.WriteFile(stray, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					os.Chmod(p, 0o755)
				} else if err == nil {
					os.Chmod(p, 0o644)
				}
				return err
			})

			logs := &obLockedBuffer{}
			s := startWith(t, serverOpts{dialect: d, dataDir: dir, database: database, logOut: logs, logLevel: slog.LevelWarn})
			tok := s.user("ann", "CREATE", "READ")
			id := s.newShare(tok, "f.txt")
			s.upload("POST", id, tok, []byte("private bytes"), 5)

			var files int
			filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err != nil {
					return nil // a file removed while we walk
				}
				fi, err := e.Info()
				if err != nil {
					return nil
				}
				want := fs.FileMode(0o600)
				if e.IsDir() {
					want = 0o700
				} else {
					files++
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s: mode %#o, want %#o", strings.TrimPrefix(p, dir), fi.Mode().Perm(), want)
				}
				return nil
			})
			if d == "sqlite" {
				for _, f := range []string{"sachet.db", "sachet.db-wal", "sachet.db-shm"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("%s: %v", f, err)
					}
				}
			}
			minFiles := 3 // the key, the stray blob, and the share's blob (or SQLite's files)
			if onS3() && d == "mysql" {
				minFiles = 2 // the content is in the bucket
			}
			if files < minFiles {
				t.Errorf("only %d files checked", files)
			}
			if !strings.Contains(logs.String(), "data directory was readable by its group or others") {
				t.Errorf("no warning about the data dir's mode in the log:\n%s", logs.String())
			}
		})
	}
}

// With SACHET_METRICS_ADDR, /metrics is served there and no longer on the
// API's listener.
func TestHardenedMetricsAddr(t *testing.T) {
	addr := map[string]string{"sqlite": freeAddr(t), "mysql": freeAddr(t)}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := start(t, d, func(c *app.Config) { c.MetricsAddr = addr[d] })
			expect(t, s.req("GET", "/whoami", "", nil), 200)
			r := expect(t, s.req("GET", "/metrics", "", nil), 404)
			if !strings.Contains(r.Message(), "not served on this address") {
				t.Fatalf("message %q", r.Message())
			}
			resp, err := http.Get("http://" + addr[d] + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), `sachet_http_requests_total{code="200",operation="whoami"} 1`) {
				t.Fatalf("metrics listener: %d\n%.2000s", resp.StatusCode, body)
			}
			// Only /metrics there: the API is not.
			resp, err = http.Get("http://" + addr[d] + "/whoami")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("metrics listener serves /whoami: %d", resp.StatusCode)
			}
		})
	}
}
