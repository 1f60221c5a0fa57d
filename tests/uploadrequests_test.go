package tests

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// requestLink creates an upload request as tok and returns its token.
func (s *server) requestLink(tok string, body map[string]any) (token, id string) {
	s.t.Helper()
	r := expect(s.t, s.req("POST", "/upload-requests", tok, body), 201)
	m := r.JSON(s.t)
	token, _ = m["token"].(string)
	u, _ := m["url"].(string)
	if r.Header.Get("Location") != u || !strings.HasPrefix(u, "/upload-requests/") {
		s.t.Fatalf("url %q, Location %q", u, r.Header.Get("Location"))
	}
	if m["upload_url"] != "/requests/"+token {
		s.t.Fatalf("upload_url %v for token %q", m["upload_url"], token)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		s.t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	return token, strings.TrimPrefix(u, "/upload-requests/")
}

// requestFile creates a file through a link (no account) and returns its share id.
func (s *server) requestFile(token, name string) string {
	s.t.Helper()
	r := expect(s.t, s.req("POST", "/requests/"+token+"/files", "", map[string]any{"file_name": name}), 201)
	u, _ := r.JSON(s.t)["url"].(string)
	prefix := "/requests/" + token + "/files/"
	if !strings.HasPrefix(u, prefix) {
		s.t.Fatalf("url %q", u)
	}
	return strings.TrimPrefix(u, prefix)
}

// requestChunk sends one chunk through a link.
func (s *server) requestChunk(token, shareID string, c chunk) reply {
	s.t.Helper()
	ct, body := c.form()
	return s.req("POST", "/requests/"+token+"/files/"+shareID+"/content", "", body, "Content-Type", ct)
}

func TestUploadRequestLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		bob := s.user("bob", "CREATE", "READ", "LIST", "MODIFY")
		eve := s.user("eve", "CREATE", "READ")

		expect(t, s.req("POST", "/upload-requests", "", map[string]any{}), 401)
		expect(t, s.req("POST", "/upload-requests", bob, map[string]any{"max_files": 0}), 400)
		expect(t, s.req("POST", "/upload-requests", bob, map[string]any{"expires_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}), 400)
		expect(t, s.req("POST", "/upload-requests", bob, map[string]any{"nope": 1}), 400)
		expect(t, s.req("POST", "/upload-requests", bob, map[string]any{"label": "bad\x07bell"}), 400)
		token, id := s.requestLink(bob, map[string]any{"label": "Send me the scans/2026", "max_files": 3})
		if len(token) < 22 { // 128 bits in base64url
			t.Fatalf("token %q is too short to hold 128 bits", token)
		}
		list := expect(t, s.req("GET", "/upload-requests", bob, nil), 200).JSON(t)["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["request_id"] != id {
			t.Fatalf("bob's requests %v", list)
		}
		if _, ok := list[0].(map[string]any)["token"]; ok {
			t.Error("the list shows the token")
		}
		if n := len(expect(t, s.req("GET", "/upload-requests", eve, nil), 200).JSON(t)["data"].([]any)); n != 0 {
			t.Errorf("eve sees %d requests", n)
		}

		// The uploader: no account, the anonymous permissions empty.
		info := expect(t, s.req("GET", "/requests/"+token, "", nil), 200).JSON(t)
		if info["label"] != "Send me the scans/2026" || info["files_left"].(float64) != 3 || info["bytes_left"] != nil {
			t.Errorf("link info %v", info)
		}
		wantOnlyKeys(t, info, "label", "files_left", "bytes_left", "expires_at")
		expect(t, s.req("GET", "/requests/not-a-token", "", nil), 404)
		expect(t, s.req("POST", "/requests/not-a-token/files", "", map[string]any{}), 404)

		share := s.requestFile(token, "scan.pdf")
		data := randBytes(5000)
		parts := split(data, 2000)
		dz := map[string]string{"dztotalfilesize": "5000", "dzchunksize": "2000"}
		for i, p := range parts {
			want := 200
			if i == len(parts)-1 {
				want = 201
			}
			c := chunk{UUID: "dz-1", Index: i, Total: len(parts), Data: p, Extra: dz}
			expect(t, s.requestChunk(token, share, c), want)
			if i == 0 {
				st := expect(t, s.req("GET", "/requests/"+token+"/files/"+share+"/uploads/dz-1", "", nil), 200).JSON(t)
				if st["received_chunks"].(float64) != 1 {
					t.Errorf("status %v", st)
				}
			}
		}
		expect(t, s.req("GET", "/requests/"+token+"/files/"+share+"/uploads/dz-1", "", nil), 404)
		// The share is bob's, with the content.
		sh := expect(t, s.req("GET", "/files/"+share, bob, nil), 200).JSON(t)
		if sh["owner_name"] != "bob" || sh["file_name"] != "scan.pdf" || sh["sha256"] != sha256Hex(data) {
			t.Errorf("share %v", sh)
		}
		if got := s.content(share, bob); string(got.Body) != string(data) {
			t.Error("content differs")
		}

		// The uploader can do nothing else: not read, list or change it...
		expect(t, s.req("GET", "/files/"+share, "", nil), 401)
		expect(t, s.content(share, ""), 401)
		expect(t, s.req("GET", "/files", "", nil), 401)
		expect(t, s.req("PATCH", "/files/"+share, "", map[string]any{"file_name": "x"}), 401)
		expect(t, s.req("DELETE", "/files/"+share, "", nil), 401)
		expect(t, s.sendChunk("PUT", share, "", chunk{UUID: "r", Index: 0, Total: 1, Data: []byte("x")}), 401)
		expect(t, s.req("GET", "/upload-requests", "", nil), 401)
		// ...nor replace the finished file through the link...
		expect(t, s.requestChunk(token, share, chunk{UUID: "again", Index: 0, Total: 1, Data: []byte("x")}), 423)
		// ...nor reach any share not created through this link.
		other := s.newShare(bob, "private.txt")
		expect(t, s.requestChunk(token, other, chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("x")}), 404)
		expect(t, s.req("GET", "/requests/"+token+"/files/"+other+"/uploads/u", "", nil), 404)
		expect(t, s.req("DELETE", "/requests/"+token+"/files/"+other+"/uploads/u", "", nil), 404)
		token2, _ := s.requestLink(eve, map[string]any{})
		expect(t, s.requestChunk(token2, share, chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("x")}), 404)
		expect(t, s.requestChunk(token, "not-a-uuid", chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("x")}), 404)

		// An unfinished upload can be aborted through the link.
		second := s.requestFile(token, "second.bin")
		expect(t, s.requestChunk(token, second, chunk{UUID: "ab", Index: 0, Total: 2, Data: []byte("half")}), 200)
		expect(t, s.req("DELETE", "/requests/"+token+"/files/"+second+"/uploads/ab", "", nil), 200)
		expect(t, s.req("GET", "/requests/"+token+"/files/"+second+"/uploads/ab", "", nil), 404)

		// Revoked: only by its creator (or an admin); then 410 everywhere.
		expect(t, s.req("DELETE", "/upload-requests/"+id, eve, nil), 404)
		expect(t, s.req("DELETE", "/upload-requests/nope", bob, nil), 404)
		expect(t, s.req("DELETE", "/upload-requests/"+id, bob, nil), 200)
		expect(t, s.req("GET", "/requests/"+token, "", nil), 410)
		expect(t, s.req("POST", "/requests/"+token+"/files", "", map[string]any{}), 410)
		expect(t, s.requestChunk(token, second, chunk{UUID: "ab", Index: 0, Total: 1, Data: []byte("x")}), 410)
		m := expect(t, s.req("GET", "/upload-requests", bob, nil), 200).JSON(t)["data"].([]any)[0].(map[string]any)
		if m["revoked"] != true || m["files_used"].(float64) != 2 || m["bytes_used"].(float64) != 5000 {
			t.Errorf("revoked request %v", m)
		}
		// Its shares stay bob's.
		expect(t, s.req("GET", "/files/"+share, bob, nil), 200)
	})
}

func TestUploadRequestLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		bob := s.user("bob", "CREATE", "READ")

		t.Run("max_files", func(t *testing.T) {
			s := s.on(t)
			token, _ := s.requestLink(bob, map[string]any{"max_files": 2})
			s.requestFile(token, "a")
			s.requestFile(token, "b")
			r := expect(t, s.req("POST", "/requests/"+token+"/files", "", map[string]any{}), 410)
			if !strings.Contains(r.Message(), "2 files") {
				t.Errorf("message %q", r.Message())
			}
			expect(t, s.req("GET", "/requests/"+token, "", nil), 410)
			// Concurrent creates cannot pass it.
			token, _ = s.requestLink(bob, map[string]any{"max_files": 3})
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := s.req("POST", "/requests/"+token+"/files", "", map[string]any{}).Status
					mu.Lock()
					codes[c]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[201] != 3 || codes[410] != 5 {
				t.Errorf("statuses %v, want 3×201 and 5×410", codes)
			}
		})

		t.Run("max_bytes_while_streaming", func(t *testing.T) {
			s := s.on(t)
			token, _ := s.requestLink(bob, map[string]any{"max_bytes": 5000})
			a := s.requestFile(token, "a")
			expect(t, s.requestChunk(token, a, chunk{UUID: "a", Index: 0, Total: 1, Data: randBytes(3000)}), 201)
			b := s.requestFile(token, "b")
			// Declared too big: refused up front.
			r := expect(t, s.requestChunk(token, b, chunk{UUID: "b1", Index: 0, Total: 2, Data: randBytes(1500),
				Extra: map[string]string{"dztotalfilesize": "3000", "dzchunksize": "1500"}}), 413)
			if !strings.Contains(r.Message(), "max_bytes") || !strings.Contains(r.Message(), "5000") {
				t.Errorf("message %q does not name the limit", r.Message())
			}
			// Undeclared: refused as the bytes pass it.
			expect(t, s.requestChunk(token, b, chunk{UUID: "b2", Index: 0, Total: 1, Data: randBytes(2001)}), 413)
			sh := expect(t, s.req("GET", "/files/"+b, bob, nil), 200).JSON(t)
			if sh["initialized"] != false {
				t.Errorf("share changed by a refused upload: %v", sh)
			}
			expect(t, s.req("GET", "/requests/"+token+"/files/"+b+"/uploads/b2", "", nil), 404)
			// Exactly the rest fits; then the link is exhausted.
			expect(t, s.requestChunk(token, b, chunk{UUID: "b3", Index: 0, Total: 1, Data: randBytes(2000)}), 201)
			info := s.req("GET", "/requests/"+token, "", nil)
			expect(t, info, 410)
			expect(t, s.req("POST", "/requests/"+token+"/files", "", map[string]any{}), 410)
		})

		t.Run("expiry_boundary", func(t *testing.T) {
			s := s.on(t)
			// The checks before the boundary must all run before it; on a
			// machine too slow for the lead, again with a longer one.
			var (
				at       time.Time
				token, f string
			)
			for lead := 2500 * time.Millisecond; ; lead *= 2 {
				at = time.Now().Add(lead).UTC().Truncate(time.Microsecond)
				token, _ = s.requestLink(bob, map[string]any{"expires_at": at.Format(time.RFC3339Nano)})
				info := expect(t, s.req("GET", "/requests/"+token, "", nil), 200).JSON(t)
				if got, _ := time.Parse(time.RFC3339Nano, info["expires_at"].(string)); !got.Equal(at) {
					t.Errorf("expires_at %v, want %v", info["expires_at"], at)
				}
				f = s.requestFile(token, "late.bin")
				expect(t, s.requestChunk(token, f, chunk{UUID: "l", Index: 0, Total: 2, Data: []byte("early")}), 200)
				if time.Now().Before(at) {
					break
				}
				if lead > time.Minute {
					t.Fatalf("the checks before the boundary outran a lead of %v", lead)
				}
				t.Logf("the checks before the boundary took longer than %v; again with twice the lead", lead)
			}
			time.Sleep(time.Until(at) + 20*time.Millisecond)
			r := expect(t, s.req("GET", "/requests/"+token, "", nil), 410)
			if !strings.Contains(r.Message(), "expired") {
				t.Errorf("message %q", r.Message())
			}
			expect(t, s.requestChunk(token, f, chunk{UUID: "l", Index: 1, Total: 2, Data: []byte("late")}), 410)
			expect(t, s.req("POST", "/requests/"+token+"/files", "", map[string]any{}), 410)
		})
	})
}
