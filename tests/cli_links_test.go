package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLILinks: `sachet link create|ls|rm` with the real binary, on both
// databases: the printed link serves the content to anyone (with the
// password from --password-file), ls shows the count, rm revokes (410),
// and failures have their exit statuses.
func TestCLILinks(t *testing.T) {
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := start(t, d, nil)
			c := newCLI(t, bin, s)
			c.loginAs("linker", "CREATE", "READ")
			small := filepath.Join(c.home, "small.txt")
			if err := os.WriteFile(small, []byte("hello, links\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			shareURL := strings.TrimSpace(c.must("push", small))
			shareID := shareURL[strings.LastIndex(shareURL, "/")+1:]

			// Plain: the link alone on stdout.
			link := strings.TrimSpace(c.must("link", "create", shareURL, "--max-downloads", "2", "--expires", "72h", "--label", "for bob"))
			if !strings.HasPrefix(link, s.URL+"/links/") || !linkTokenShape.MatchString(strings.TrimPrefix(link, s.URL+"/links/")) {
				t.Fatalf("link create printed %q", link)
			}
			r := expect(t, s.req("GET", strings.TrimPrefix(link, s.URL)+"/content", "", nil), 200)
			if string(r.Body) != "hello, links\n" {
				t.Errorf("content through the link: %q", r.Body)
			}

			// --json, with a password read from a file.
			pw := filepath.Join(c.home, "link-pw")
			if err := os.WriteFile(pw, []byte("open sesame\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var made struct {
				URL   string   `json:"url"`
				Token string   `json:"token"`
				Link  linkJSON `json:"link"`
			}
			out := c.must("link", "create", shareID, "--password-file", pw, "--json")
			if err := json.Unmarshal([]byte(out), &made); err != nil || !made.Link.HasPassword || made.URL != s.URL+"/links/"+made.Token {
				t.Fatalf("link create --json: %v: %s", err, out)
			}
			path := "/links/" + made.Token + "/content"
			expect(t, s.req("GET", path, "", nil), 401)
			expect(t, s.req("GET", path, "", nil, "X-Sachet-Link-Password", "open sesame"), 200)

			var links []linkJSON
			if err := json.Unmarshal([]byte(c.must("link", "ls", shareURL, "--json")), &links); err != nil || len(links) != 2 {
				t.Fatalf("link ls --json: %v %v", links, err)
			}
			first := links[1] // newest first
			if first.Downloads != 1 || first.MaxDownloads == nil || *first.MaxDownloads != 2 || first.Label == nil || *first.Label != "for bob" {
				t.Errorf("first link listed as %+v", first)
			}
			if out := c.must("link", "ls", shareID); !strings.Contains(out, first.LinkID) || !strings.Contains(out, "1/2") || !strings.Contains(out, "for bob") {
				t.Errorf("link ls:\n%s", out)
			}

			other := newCLI(t, bin, s)
			other.loginAs("stranger", "CREATE", "READ")
			for _, tc := range []struct {
				name string
				c    *cli
				args []string
				code int
			}{
				{"NotYours", other, []string{"link", "create", shareID}, 4},
				{"NotYoursLs", other, []string{"link", "ls", shareID}, 4},
				{"NoShare", c, []string{"link", "ls", "00000000-0000-4000-8000-000000000000"}, 5},
				{"RmUnknown", c, []string{"link", "rm", shareID, "0123456789abcdef"}, 5},
				{"BadExpiry", c, []string{"link", "create", shareID, "--expires", "soon"}, 2},
				{"NoSubcommand", c, []string{"link"}, 2},
				{"RmNeedsLink", c, []string{"link", "rm", shareID}, 2},
				{"Rm", c, []string{"link", "rm", shareID, first.LinkID}, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if _, errOut, code := tc.c.run(tc.args...); code != tc.code {
						t.Errorf("sachet %v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
					}
				})
			}
			expect(t, s.req("GET", strings.TrimPrefix(link, s.URL)+"/content", "", nil), 410)
		})
	}
}

// linkJSON is `sachet link ls --json`'s shape.
type linkJSON struct {
	LinkID       string  `json:"link_id"`
	Label        *string `json:"label"`
	Downloads    int64   `json:"downloads"`
	MaxDownloads *int64  `json:"max_downloads"`
	HasPassword  bool    `json:"has_password"`
	State        string  `json:"state"`
}
