package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestCLIKeys: `sachet key create|ls|rm` with the real binary, on both
// databases; a key with READ only cannot push (exit 4) but can pull, a
// key cannot make keys, and a revoked key is refused (exit 3).
func TestCLIKeys(t *testing.T) {
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := start(t, d, nil)
			c := newCLI(t, bin, s)
			c.loginAs("keymaker", "CREATE", "MODIFY", "READ", "LIST")
			small := filepath.Join(c.home, "small.txt")
			if err := os.WriteFile(small, []byte("hello, keys\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			shareURL := strings.TrimSpace(c.must("push", small))

			var made struct {
				Secret string  `json:"secret"`
				URL    string  `json:"url"`
				Key    keyJSON `json:"key"`
			}
			out := c.must("key", "create", "read only", "--permissions", "read", "--expires", "720h", "--json")
			if err := json.Unmarshal([]byte(out), &made); err != nil || !strings.HasPrefix(made.Secret, "sachet_") {
				t.Fatalf("key create --json: %v: %s", err, out)
			}
			if got, want := strings.Join(made.Key.Permissions, ","), "READ"; got != want {
				t.Errorf("permissions %q, want %q", got, want)
			}
			if made.Key.ExpireDate == nil {
				t.Error("no expire_date despite --expires")
			}
			// Without --json: the secret alone on stdout; default permissions
			// are all the user's.
			full := strings.TrimSpace(c.must("key", "create", "everything"))
			if !strings.HasPrefix(full, "sachet_") || strings.ContainsAny(full, " \n") {
				t.Fatalf("key create printed %q, want the secret alone", full)
			}

			var keys []keyJSON
			if err := json.Unmarshal([]byte(c.must("key", "ls", "--json")), &keys); err != nil || len(keys) != 2 {
				t.Fatalf("key ls --json: %v %v", keys, err)
			}
			byName := map[string]keyJSON{}
			for _, k := range keys {
				byName[k.Name] = k
			}
			if got, want := strings.Join(byName["everything"].Permissions, ","), "CREATE,MODIFY,LIST,READ"; got != want {
				t.Errorf("default permissions %q, want %q", got, want)
			}
			if out := c.must("key", "ls"); !strings.Contains(out, made.Key.KeyID) || !strings.Contains(out, "read only") {
				t.Errorf("key ls does not list %s:\n%s", made.Key.KeyID, out)
			}

			reader := newCLI(t, bin, s)
			reader.must("login", s.URL, "--key", made.Secret)
			fullKey := newCLI(t, bin, s)
			fullKey.must("login", s.URL, "--key", full)
			for _, tc := range []struct {
				name string
				cli  *cli
				args []string
				want int
			}{
				{"ReadOnlyKeyCannotPush", reader, []string{"push", small}, 4},
				{"ReadOnlyKeyPulls", reader, []string{"pull", shareURL, "-o", filepath.Join(reader.home, "copy")}, 0},
				{"ReadOnlyKeyListsOwnKeys", reader, []string{"key", "ls"}, 0},
				{"KeyCannotMakeKeys", fullKey, []string{"key", "create", "more"}, 4},
				{"FullKeyPushes", fullKey, []string{"push", small}, 0},
				{"UnknownPermission", c, []string{"key", "create", "x", "--permissions", "FLY"}, 1},
				{"DuplicateName", c, []string{"key", "create", "everything"}, 6},
				{"BadExpiry", c, []string{"key", "create", "x", "--expires", "soon"}, 2},
				{"NoSubcommand", c, []string{"key"}, 2},
				{"UnknownSubcommand", c, []string{"key", "mint"}, 2},
				{"RmUnknown", c, []string{"key", "rm", "0123456789abcdef"}, 5},
				{"Rm", c, []string{"key", "rm", made.Key.KeyID}, 0},
				{"RevokedKeyRefused", reader, []string{"pull", shareURL, "-o", filepath.Join(reader.home, "copy2")}, 3},
			} {
				t.Run(tc.name, func(t *testing.T) {
					out, errOut, code := tc.cli.run(tc.args...)
					if code != tc.want {
						t.Errorf("sachet %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.want, out, errOut)
					}
				})
			}
			if !sameFile(t, small, filepath.Join(reader.home, "copy")) {
				t.Error("pull with a READ key: the copy differs")
			}
			// The READ-only key's push was refused before anything was
			// made: keymaker's two pushes are the only shares.
			var shares []struct {
				ShareID string `json:"share_id"`
			}
			if err := json.Unmarshal([]byte(c.must("ls", "--json")), &shares); err != nil || len(shares) != 2 {
				t.Errorf("shares after the pushes: %v (%v), want 2", shares, err)
			}
			if err := json.Unmarshal([]byte(c.must("key", "ls", "--json")), &keys); err != nil || len(keys) != 1 || keys[0].Name != "everything" {
				t.Errorf("keys after rm: %v (%v)", keys, err)
			}
		})
	}
}

// keyJSON is a key as `sachet key ls --json` prints it.
type keyJSON struct {
	KeyID       string   `json:"key_id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	ExpireDate  *string  `json:"expire_date"`
}

// TestCLIChecksums: `sachet push` sends each chunk's SHA-256 and the
// file's. A proxy damages one chunk in flight, or the file's sum: the
// server refuses it and keeps nothing of it, push exits 7, and the same
// command run again completes with the right bytes.
func TestCLIChecksums(t *testing.T) {
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := start(t, d, nil)
			c := newCLI(t, bin, s)
			c.loginAs("pusher", "CREATE", "READ")
			for _, mode := range []string{"chunk", "file"} {
				t.Run(mode, func(t *testing.T) {
					src := filepath.Join(c.home, mode+".bin")
					writeRandomFile(t, src, 1<<20+5)
					p := newTamperProxy(t, s.URL, mode)
					// --chunk-sha256: the proxy is on loopback, where push
					// leaves the per-chunk sums out by default.
					args := []string{"push", src, "--server", p.URL, "--chunk-size", "65536", "--chunk-sha256", "--json", "--no-progress"}
					out, errOut, code := c.run(args...)
					// The server's refusal names the field it checked.
					if code != 7 || !strings.Contains(errOut, "SHA-256 mismatch") || !strings.Contains(errOut, "dz"+mode+"sha256") {
						t.Fatalf("damaged push: exit %d, want 7\nstdout: %s\nstderr: %s", code, out, errOut)
					}
					if p.tampered.Load() != 1 {
						t.Fatalf("the proxy damaged %d requests, want 1", p.tampered.Load())
					}
					var res struct {
						ShareID string `json:"share_id"`
						Resumed bool   `json:"resumed"`
						SHA256  string `json:"sha256"`
					}
					out = c.must(args...)
					if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Resumed {
						t.Fatalf("push again: %v, resumed %v: %s", err, res.Resumed, out)
					}
					if got, want := contentSHA(t, s, res.ShareID, c.token), fileSHA(t, src); got != want || res.SHA256 != want {
						t.Fatalf("content SHA-256 %s (push says %s), want %s", got, res.SHA256, want)
					}
				})
			}
		})
	}
}

// tamperProxy forwards to the server and damages one upload request:
// mode "chunk" flips a byte in the middle of the first chunk's body (its
// file data); mode "file" changes the dzfilesha256 value of the first
// request that carries one.
type tamperProxy struct {
	URL      string
	tampered atomic.Int64
}

func newTamperProxy(t *testing.T, target, mode string) *tamperProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &tamperProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // requests cut when push stops fail here
	rp.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if strings.HasSuffix(req.URL.Path, "/content") && req.Body != nil && (req.Method == "POST" || req.Method == "PUT") {
			body, err := io.ReadAll(req.Body) // one small chunk
			if err != nil {
				return nil, err
			}
			req.Body.Close()
			if p.tampered.Load() == 0 {
				switch field := []byte("name=\"dzfilesha256\"\r\n\r\n"); mode {
				case "chunk":
					if p.tampered.CompareAndSwap(0, 1) {
						body[len(body)/2] ^= 0x55
					}
				case "file":
					if i := bytes.Index(body, field); i >= 0 && p.tampered.CompareAndSwap(0, 1) {
						v := body[i+len(field) : i+len(field)+64]
						copy(v, strings.Repeat("0", 64))
					}
				}
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}
