package tests

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sachet-server/sachet/app"
)

// TestSecureHeadersNoSniff: every JSON response, success or error, and
// whichever code wrote it, carries X-Content-Type-Options: nosniff (the
// harness checks it on every response too; these are the cases that must
// not slip: routing errors, body errors, the 431 written before routing).
func TestSecureHeadersNoSniff(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		cases := []struct {
			name, method, path, token string
			body                      any
			status                    int
		}{
			{"whoami_200", "GET", "/whoami", "", nil, 200},
			{"login_bad_json_400", "POST", "/users/login", "", "{", 400},
			{"anonymous_401", "GET", "/users", "", nil, 401},
			{"bad_token_401", "GET", "/whoami", "garbage", nil, 401},
			{"missing_user_403", "GET", "/users/nobody", s.admin, nil, 403},
			{"unknown_route_404", "GET", "/nope", "", nil, 404},
			{"missing_share_404", "GET", "/files/9ae90f06-a751-409c-a9fe-8277575b9914", s.admin, nil, 404},
			{"wrong_method_405", "DELETE", "/whoami", "", nil, 405},
			{"created_201", "POST", "/files", s.admin, map[string]string{"file_name": "n.txt"}, 201},
			{"openapi_json_200", "GET", "/openapi.json", "", nil, 200},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := s.on(t)
				r := expect(t, s.req(tc.method, tc.path, tc.token, tc.body), tc.status)
				if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
			})
		}
	})
	t.Run("header_too_large_431", func(t *testing.T) {
		t.Parallel()
		s := startWith(t, serverOpts{mutate: func(c *app.Config) { c.MaxHeaderBytes = 16 << 10 }})
		req, _ := http.NewRequest("GET", s.URL+"/whoami", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", 20<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 431 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %q, want 431 with the JSON envelope", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options %q, want nosniff", got)
		}
	})
}

// TestSecureHeadersDocsCSP: /docs carries a Content-Security-Policy that
// loads nothing from anywhere and runs only the page's own inline scripts,
// each named by its hash (the browser test renders the page under it).
func TestSecureHeadersDocsCSP(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		r := expect(t, s.req("GET", "/docs", "", nil), 200)
		csp := r.Header.Get("Content-Security-Policy")
		if csp == "" {
			t.Fatal("/docs without a Content-Security-Policy")
		}
		dirs := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			dirs[name] = value
		}
		if dirs["default-src"] != "'none'" {
			t.Errorf("default-src %q, want 'none': %s", dirs["default-src"], csp)
		}
		for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"} {
			for _, v := range strings.Fields(dirs["script-src"]) {
				if v == bad {
					t.Errorf("script-src allows %s: %s", bad, csp)
				}
			}
		}
		for _, d := range []string{"frame-ancestors", "base-uri", "form-action"} {
			if dirs[d] != "'none'" {
				t.Errorf("%s %q, want 'none'", d, dirs[d])
			}
		}
		// Each executable inline script of the page is allowed by its hash,
		// and nothing else is.
		var want []string
		for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllSubmatch(r.Body, -1) {
			sum := sha256.Sum256(m[1])
			want = append(want, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		if len(want) == 0 {
			t.Fatal("no inline script in /docs")
		}
		if got := strings.Join(strings.Fields(dirs["script-src"]), " "); got != strings.Join(want, " ") {
			t.Errorf("script-src %q, want the page's script hashes %q", got, strings.Join(want, " "))
		}
	})
}
