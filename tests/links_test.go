package tests

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// Share links (issue 12, items 1, 5, 6): a public, unguessable link to a
// share's content, optionally expiring, download-limited and
// password-protected, managed by the share's owner or an ADMIN.

var linkTokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`)

// newLink creates a link to share id with body (nil for none) as tok and
// returns its token and id.
func (s *server) newLink(tok, id string, body any) (token, linkID string) {
	s.t.Helper()
	r := expect(s.t, s.req("POST", "/files/"+id+"/links", tok, body), 201)
	m := r.JSON(s.t)
	token, _ = m["token"].(string)
	if !linkTokenShape.MatchString(token) {
		s.t.Fatalf("token %q is not 32 URL-safe characters", token)
	}
	if url := m["url"]; url != "/links/"+token || r.Header.Get("Location") != url {
		s.t.Fatalf("url %v, Location %q, want /links/%s", url, r.Header.Get("Location"), token)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		s.t.Errorf("Cache-Control %q on a new link, want no-store", got)
	}
	link, _ := m["link"].(map[string]any)
	linkID, _ = link["link_id"].(string)
	return token, linkID
}

// links lists the share's links as tok.
func (s *server) links(tok, id string) []map[string]any {
	s.t.Helper()
	r := expect(s.t, s.req("GET", "/files/"+id+"/links", tok, nil), 200)
	data, _ := r.JSON(s.t)["data"].([]any)
	out := make([]map[string]any, len(data))
	for i, d := range data {
		out[i], _ = d.(map[string]any)
	}
	return out
}

// sharedFile makes a user with CREATE and READ, a share of theirs with content,
// and returns the user's token, the share id and the content.
func (s *server) sharedFile(user string, size int) (tok, id string, data []byte) {
	s.t.Helper()
	tok = s.user(user, "CREATE", "READ")
	id = s.newShare(tok, "report.bin")
	data = randBytes(size)
	s.upload("POST", id, tok, data, max(size, 1))
	return tok, id, data
}

func TestLinkLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		tok, id, data := s.sharedFile("alice", 4000)
		token, linkID := s.newLink(tok, id, map[string]any{"label": "for the auditors"})

		// The metadata: name, size, expiry, downloads left, and no more.
		r := expect(t, s.req("GET", "/links/"+token, "", nil), 200)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("link metadata Cache-Control %q, want no-store", got)
		}
		m := r.JSON(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if got := strings.Join(keys, ","); got != "downloads_left,expires_at,file_name,size" {
			t.Errorf("metadata fields %s, want only downloads_left,expires_at,file_name,size", got)
		}
		if m["file_name"] != "report.bin" || m["size"] != float64(4000) || m["downloads_left"] != nil || m["expires_at"] != nil {
			t.Errorf("metadata %v", m)
		}

		// The content, as the content route serves it, to anyone.
		r = expect(t, s.req("GET", "/links/"+token+"/content", "", nil), 200)
		if string(r.Body) != string(data) {
			t.Fatal("link content differs from the upload")
		}
		// No shared cache keeps it, a browser revalidates: a cache must
		// not serve downloads the link did not count.
		if got := r.Header.Get("Cache-Control"); got != "private, no-cache" {
			t.Errorf("link content Cache-Control %q, want private, no-cache", got)
		}
		direct := expect(t, s.content(id, tok), 200)
		for _, h := range []string{"Content-Type", "Content-Disposition", "ETag", "Last-Modified", "Accept-Ranges", "X-Content-Type-Options", "Content-Security-Policy", "Content-Length"} {
			if got, want := r.Header.Get(h), direct.Header.Get(h); got != want || got == "" {
				t.Errorf("%s: link %q, content route %q", h, got, want)
			}
		}
		etag := r.Header.Get("ETag")
		expect(t, s.req("GET", "/links/"+token+"/content", "", nil, "If-None-Match", etag), 304)
		h := expect(t, s.req("HEAD", "/links/"+token+"/content", "", nil), 200)
		if h.Header.Get("Content-Length") != "4000" || len(h.Body) != 0 {
			t.Errorf("HEAD: Content-Length %q, %d body bytes", h.Header.Get("Content-Length"), len(h.Body))
		}
		r = expect(t, s.req("GET", "/links/"+token+"/content", "", nil, "Range", "bytes=100-199"), 206)
		if string(r.Body) != string(data[100:200]) || r.Header.Get("Content-Range") != "bytes 100-199/4000" {
			t.Errorf("range: %q, %d bytes", r.Header.Get("Content-Range"), len(r.Body))
		}
		expect(t, s.req("GET", "/links/"+token+"/content", "", nil, "Range", "bytes=5000-"), 416)
		// The Authorization header is not read: even a bad token passes.
		expect(t, s.req("GET", "/links/"+token+"/content", "not-a-token", nil), 200)

		ls := s.links(tok, id)
		if len(ls) != 1 {
			t.Fatalf("%d links, want 1", len(ls))
		}
		l := ls[0]
		// Counted: the two 200s. Not: the 304, the HEAD, the 206 from 100, the 416.
		if l["link_id"] != linkID || l["label"] != "for the auditors" || l["downloads"] != float64(2) ||
			l["state"] != "active" || l["has_password"] != false || l["share_id"] != id {
			t.Errorf("listed link %v", l)
		}

		expect(t, s.req("DELETE", "/files/"+id+"/links/"+linkID, tok, nil), 200)
		expect(t, s.req("DELETE", "/files/"+id+"/links/"+linkID, tok, nil), 200) // again: still revoked
		for _, path := range []string{"/links/" + token, "/links/" + token + "/content"} {
			r := expect(t, s.req("GET", path, "", nil), 410)
			if !strings.Contains(r.Message(), "revoked") {
				t.Errorf("%s: message %q does not say revoked", path, r.Message())
			}
		}
		expect(t, s.req("HEAD", "/links/"+token+"/content", "", nil), 410)
		if l := s.links(tok, id)[0]; l["state"] != "revoked" || l["revoked_date"] == nil {
			t.Errorf("revoked link listed as %v", l)
		}
		expect(t, s.req("DELETE", "/files/"+id+"/links/0000000000000000", tok, nil), 404)

		// Unknown and malformed tokens are 404.
		expect(t, s.req("GET", "/links/"+strings.Repeat("A", 32), "", nil), 404)
		expect(t, s.req("GET", "/links/short/content", "", nil), 404)
		expect(t, s.req("GET", "/links/"+strings.Repeat("!", 32)+"/content", "", nil), 404)
	})
}

func TestLinkPermissions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice, id, _ := s.sharedFile("alice", 100)
		bob := s.user("bob", "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
		token, linkID := s.newLink(alice, id, nil)
		links := "/files/" + id + "/links"

		// Someone else, whatever their permissions (ADMIN aside): 403.
		expect(t, s.req("POST", links, bob, map[string]any{}), 403)
		expect(t, s.req("POST", links, bob, map[string]any{"bogus": 1}), 403) // 403 before the body's 400
		expect(t, s.req("GET", links, bob, nil), 403)
		expect(t, s.req("DELETE", links+"/"+linkID, bob, nil), 403)
		// A share that does not exist is 404 first.
		expect(t, s.req("GET", "/files/00000000-0000-4000-8000-000000000000/links", bob, nil), 404)
		expect(t, s.req("GET", "/files/not-a-uuid/links", bob, nil), 404)

		// Anonymous callers never manage links, whatever the anonymous
		// permissions; and the public routes ignore those permissions.
		s.setAnon("CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ")
		expect(t, s.req("POST", links, "", map[string]any{}), 401)
		expect(t, s.req("GET", links, "", nil), 401)
		expect(t, s.req("DELETE", links+"/"+linkID, "", nil), 401)
		s.setAnon()
		expect(t, s.req("GET", "/links/"+token+"/content", "", nil), 200)
		expect(t, s.req("GET", "/files/"+id+"/content", "", nil), 401) // the share itself stays closed

		// An ADMIN may manage any share's links; the owner's API key too.
		adminTok, _ := s.newLink(s.admin, id, map[string]any{"label": "admin's"})
		if n := len(s.links(s.admin, id)); n != 2 {
			t.Errorf("admin lists %d links, want 2", n)
		}
		expect(t, s.req("GET", "/links/"+adminTok, "", nil), 200)
		secret, _ := s.newKey(alice, "alice", "ci", "CREATE")
		s.newLink(secret, id, map[string]any{"max_downloads": 1})
		expect(t, s.req("DELETE", links+"/"+linkID, s.admin, nil), 200)

		// Bad bodies from the owner: 400 naming the field.
		for _, body := range []any{
			map[string]any{"max_downloads": 0},
			map[string]any{"label": ""},
			map[string]any{"label": " padded"},
			map[string]any{"password": ""},
			map[string]any{"password": strings.Repeat("x", 73)},
			map[string]any{"expires_at": "yesterday"},
			map[string]any{"token": "mine"},
		} {
			expect(t, s.req("POST", links, alice, body), 400)
		}
	})
}

func TestLinkExpiryBoundary(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		tok, id, _ := s.sharedFile("alice", 100)
		past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
		r := expect(t, s.req("POST", "/files/"+id+"/links", tok, map[string]any{"expires_at": past}), 400)
		if !strings.Contains(r.Message(), "expires_at") {
			t.Errorf("message %q does not name expires_at", r.Message())
		}
		exp := time.Now().Add(1500 * time.Millisecond).UTC().Truncate(time.Microsecond)
		token, _ := s.newLink(tok, id, map[string]any{"expires_at": exp.Format(time.RFC3339Nano)})
		m := expect(t, s.req("GET", "/links/"+token, "", nil), 200).JSON(t)
		if got, _ := time.Parse(time.RFC3339Nano, m["expires_at"].(string)); !got.Equal(exp) {
			t.Errorf("expires_at %v, want %v", m["expires_at"], exp)
		}
		expect(t, s.req("GET", "/links/"+token+"/content", "", nil), 200)
		// The expiry instant itself is expired (checked at the instant in
		// db.TestLinkClaimExpiryInstant); here, just after it.
		time.Sleep(time.Until(exp) + 10*time.Millisecond)
		for _, path := range []string{"/links/" + token, "/links/" + token + "/content"} {
			r := expect(t, s.req("GET", path, "", nil), 410)
			if !strings.Contains(r.Message(), "expired") {
				t.Errorf("%s: message %q does not say expired", path, r.Message())
			}
		}
		expect(t, s.req("HEAD", "/links/"+token+"/content", "", nil), 410)
		if l := s.links(tok, id)[0]; l["state"] != "expired" {
			t.Errorf("state %v, want expired", l["state"])
		}
	})
}

func TestLinkConcurrentCounting(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		tok, id, data := s.sharedFile("alice", 256<<10)
		token, _ := s.newLink(tok, id, map[string]any{"max_downloads": 1})
		const n = 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		full := 0
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				r, err := s.try("GET", "/links/"+token+"/content", "", "", nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				codes[r.Status]++
				if r.Status == 200 && string(r.Body) == string(data) {
					full++
				}
			})
		}
		close(start)
		wg.Wait()
		if codes[200] != 1 || codes[410] != n-1 || full != 1 {
			t.Errorf("statuses %v (%d whole bodies), want one 200 with the whole body and %d 410", codes, full, n-1)
		}
		m := expect(t, s.req("GET", "/links/"+token, "", nil), 410)
		if !strings.Contains(m.Message(), "no downloads left") {
			t.Errorf("message %q", m.Message())
		}
		if l := s.links(tok, id)[0]; l["downloads"] != float64(1) || l["downloads_left"] != float64(0) || l["state"] != "exhausted" {
			t.Errorf("listed %v", l)
		}
	})
}

// TestLinkLargeUnlimitedCounted: a link without a limit lets a large
// body start before its download is committed (only the last bytes wait
// for it). Every counted transfer is still counted by the time its client
// has the whole body, parallel ones included; a resumption is not.
func TestLinkLargeUnlimitedCounted(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		const size = 3 << 20
		tok, id, data := s.sharedFile("alice", size)
		token, _ := s.newLink(tok, id, nil)
		const n = 6
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rng, want, status := "", data, 200
				switch i {
				case 0:
					rng, status = "bytes=0-", 206 // from byte 0: counts
				case 1:
					rng, want, status = "bytes=1000000-", data[1000000:], 206 // a resumption: does not
				}
				var hdr []string
				if rng != "" {
					hdr = []string{"Range", rng}
				}
				r, err := s.try("GET", "/links/"+token+"/content", "", "", nil, hdr...)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Status != status || string(r.Body) != string(want) {
					t.Errorf("%q: status %d, %d bytes; want %d, %d", rng, r.Status, len(r.Body), status, len(want))
				}
			})
		}
		wg.Wait()
		if l := s.links(tok, id)[0]; l["downloads"] != float64(n-1) || l["state"] != "active" {
			t.Errorf("listed %v, want %d downloads", l, n-1)
		}
	})
}

func TestLinkRangeCounting(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		tok, id, data := s.sharedFile("alice", 1000)
		token, _ := s.newLink(tok, id, map[string]any{"max_downloads": 3})
		path := "/links/" + token + "/content"
		left := func() any {
			t.Helper()
			return expect(t, s.req("GET", "/links/"+token, "", nil), 200).JSON(t)["downloads_left"]
		}
		steps := []struct {
			name, rng string
			method    string
			status    int
			left      float64
		}{
			{"range from 0 counts", "bytes=0-99", "GET", 206, 2},
			{"resume elsewhere does not", "bytes=100-", "GET", 206, 2},
			{"suffix inside does not", "bytes=-10", "GET", 206, 2},
			{"several ranges from 0 count", "bytes=0-9,500-509", "GET", 206, 1},
			{"HEAD does not", "", "HEAD", 200, 1},
			{"HEAD of a range from 0 does not", "bytes=0-9", "HEAD", 206, 1},
			{"suffix covering all counts", "bytes=-5000", "GET", 206, 0},
		}
		for _, st := range steps {
			var hdr []string
			if st.rng != "" {
				hdr = []string{"Range", st.rng}
			}
			r := expect(t, s.req(st.method, path, "", nil, hdr...), st.status)
			if st.name == "resume elsewhere does not" && string(r.Body) != string(data[100:]) {
				t.Errorf("%s: wrong bytes", st.name)
			}
			var got any
			if st.left > 0 {
				got = left()
			} else {
				got = float64(0) // the metadata of an exhausted link is 410
				expect(t, s.req("GET", "/links/"+token, "", nil), 410)
			}
			if got != st.left {
				t.Errorf("%s: downloads left %v, want %v", st.name, got, st.left)
			}
		}
		// Exhausted: a resumption is refused too.
		expect(t, s.req("GET", path, "", nil, "Range", "bytes=500-"), 410)
		expect(t, s.req("HEAD", path, "", nil), 410)
	})
}

func TestLinkPassword(t *testing.T) {
	throttled(t, 3, 15*time.Minute, func(t *testing.T, s *server) {
		tok, id, data := s.sharedFile("alice", 500)
		r := expect(t, s.req("POST", "/files/"+id+"/links", tok, map[string]any{"password": "s3cret pass"}), 201)
		if strings.Contains(string(r.Body), "s3cret") {
			t.Error("the create response shows the password")
		}
		token, _ := r.JSON(t)["token"].(string)
		meta, content := "/links/"+token, "/links/"+token+"/content"
		const home, attacker = "192.0.2.20", "198.51.100.66"
		pw := func(p, from string) []string {
			h := []string{"X-Forwarded-For", from}
			if p != "" {
				h = append(h, "X-Sachet-Link-Password", p)
			}
			return h
		}

		r = expect(t, s.req("GET", meta, "", nil, pw("", home)...), 401)
		if !strings.Contains(r.Message(), "X-Sachet-Link-Password") {
			t.Errorf("message %q does not say where the password goes", r.Message())
		}
		expect(t, s.req("GET", content, "", nil, pw("", home)...), 401)
		expect(t, s.req("HEAD", content, "", nil, pw("", home)...), 401)
		// In the query it is ignored (and so still missing).
		expect(t, s.req("GET", content+"?password=s3cret+pass", "", nil, pw("", home)...), 401)
		expect(t, s.req("GET", meta, "", nil, pw("s3cret pass", home)...), 200)
		r = expect(t, s.req("GET", content, "", nil, pw("s3cret pass", home)...), 200)
		if string(r.Body) != string(data) {
			t.Error("wrong content")
		}
		if l := s.links(tok, id)[0]; l["has_password"] != true {
			t.Errorf("has_password %v", l["has_password"])
		}

		// Wrong guesses are throttled like sign-ins: 3 allowed, then 429
		// before any bcrypt work, even with the right password, from
		// addresses the link was not opened at.
		for range 3 {
			expect(t, s.req("GET", content, "", nil, pw("guess", attacker)...), 401)
		}
		r = expect(t, s.req("GET", content, "", nil, pw("s3cret pass", attacker)...), 429)
		retryAfter(t, r)
		expect(t, s.req("GET", meta, "", nil, pw("guess", attacker)...), 429)
		// Where the right password was given before, the link still opens.
		expect(t, s.req("GET", content, "", nil, pw("s3cret pass", home)...), 200)
	})
}

func TestLinkEndsWithShareAndUser(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice, id, _ := s.sharedFile("alice", 100)
		own, _ := s.newLink(alice, id, nil)
		boss := s.user("boss", "ADMIN")
		bossLink, _ := s.newLink(boss, id, nil)
		expect(t, s.req("GET", "/links/"+bossLink+"/content", "", nil), 200)

		// The user who made a link is deleted: the link ends.
		expect(t, s.req("DELETE", "/users/boss", s.admin, nil), 200)
		expect(t, s.req("GET", "/links/"+bossLink+"/content", "", nil), 404)
		expect(t, s.req("GET", "/links/"+own, "", nil), 200)

		// The share is deleted: its links end; then its owner can go.
		s.user("deleter", "DELETE")
		expect(t, s.req("DELETE", "/files/"+id, s.login("deleter", "deleter-pw"), nil), 200)
		expect(t, s.req("GET", "/links/"+own, "", nil), 404)
		expect(t, s.req("GET", "/links/"+own+"/content", "", nil), 404)
		expect(t, s.req("DELETE", "/users/alice", s.admin, nil), 200)
	})
}

func TestLinkCORS(t *testing.T) {
	eachDBWith(t, func(c *app.Config) { c.CORSOrigins = "https://elsewhere.example" }, func(t *testing.T, s *server) {
		_, id, data := s.sharedFile("alice", 300)
		token, _ := s.newLink(s.login("alice", "alice-pw"), id, map[string]any{"password": "pw"})
		path := "/links/" + token + "/content"
		r := s.req("OPTIONS", path, "", nil,
			"Origin", "https://elsewhere.example",
			"Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "range,x-sachet-link-password")
		if r.Status != 204 && r.Status != 200 {
			t.Fatalf("preflight %d", r.Status)
		}
		allowed := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"range", "x-sachet-link-password"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("preflight allows %q, not %s", allowed, h)
			}
		}
		r = expect(t, s.req("GET", path, "", nil, "Origin", "https://elsewhere.example", "Range", "bytes=0-9", "X-Sachet-Link-Password", "pw"), http.StatusPartialContent)
		if r.Header.Get("Access-Control-Allow-Origin") != "https://elsewhere.example" || string(r.Body) != string(data[:10]) {
			t.Errorf("Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
		}
		exposed := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
		for _, h := range []string{"content-range", "content-disposition", "etag"} {
			if !strings.Contains(exposed, h) {
				t.Errorf("%s not exposed (%q)", h, exposed)
			}
		}
		// An error (410) carries CORS too, so a page can read it.
		r = s.req("GET", "/links/"+strings.Repeat("x", 32), "", nil, "Origin", "https://elsewhere.example")
		if r.Status != 404 || r.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("404: status %d, Allow-Origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}
