package tests

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// ---- helpers shared by shares_test.go, upload_test.go, download_test.go ----

// try sends a request without failing the test on transport errors, so
// that goroutines can use it. Response validation still reports to s.t.
func (s *server) try(method, path, token, contentType string, body []byte, headers ...string) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// tryChunk is sendChunk for goroutines.
func (s *server) tryChunk(method, shareID, token string, c chunk) (reply, error) {
	ct, body := c.form()
	return s.try(method, "/files/"+shareID+"/content", token, ct, body)
}

// shareBody is a decoded share.
type shareBody struct {
	ShareID     string  `json:"share_id"`
	FileName    string  `json:"file_name"`
	OwnerName   *string `json:"owner_name"`
	Initialized bool    `json:"initialized"`
	Locked      bool    `json:"locked"`
	CreateDate  string  `json:"create_date"`
	Size        *int64  `json:"size"`
	SHA256      *string `json:"sha256"`
}

// getShare reads a share's metadata as admin.
func (s *server) getShare(id string) shareBody {
	s.t.Helper()
	r := expect(s.t, s.req("GET", "/files/"+id, s.admin, nil), 200)
	var sh shareBody
	if err := json.Unmarshal(r.Body, &sh); err != nil {
		s.t.Fatalf("share body: %v: %s", err, r.Body)
	}
	// Every field is present, null or not.
	m := r.JSON(s.t)
	for _, k := range []string{"share_id", "file_name", "owner_name", "initialized", "locked", "create_date", "size", "sha256"} {
		if _, ok := m[k]; !ok {
			s.t.Errorf("share body lacks %q: %s", k, r.Body)
		}
	}
	return sh
}

// expectStatus is expect with a message check: the message must contain
// each of subs (case-insensitive).
func expectMsg(t testing.TB, r reply, status int, subs ...string) {
	t.Helper()
	expect(t, r, status)
	msg := strings.ToLower(r.Message())
	for _, sub := range subs {
		if !strings.Contains(msg, strings.ToLower(sub)) {
			t.Errorf("message %q does not mention %q", r.Message(), sub)
		}
	}
}

func strPtr(s string) *string { return &s }

func strp(p *string) string {
	if p == nil {
		return "<null>"
	}
	return fmt.Sprintf("%q", *p)
}

var (
	uuidV4Re   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	rfc3339ZRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`)
)

// missingID is a canonical v4 id that no share has.
func missingID() string {
	b := randBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// filesUnder lists the regular files below dir (none if it is missing).
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

// ---- POST /files ----

func TestShareCreate(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("created_with_v4_url_and_location", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			r := expect(t, s.req("POST", "/files", s.admin, map[string]string{"file_name": "a.txt"}), 201)
			m := r.JSON(t)
			url, _ := m["url"].(string)
			if m["status"] != "success" {
				t.Errorf("status field %v, want success", m["status"])
			}
			id, ok := strings.CutPrefix(url, "/files/")
			if !ok || !uuidV4Re.MatchString(id) {
				t.Fatalf("url %q is not /files/<lowercase v4 uuid>", url)
			}
			if loc := r.Header.Get("Location"); loc != url {
				t.Errorf("Location %q, want %q", loc, url)
			}
			sh := s.getShare(id)
			if sh.ShareID != id || sh.FileName != "a.txt" {
				t.Errorf("share %+v, want id %s name a.txt", sh, id)
			}
		})
		t.Run("ids_are_distinct", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			seen := map[string]bool{}
			for i := 0; i < 10; i++ {
				id := s.newShare(s.admin, "")
				if seen[id] {
					t.Fatalf("share id %s issued twice", id)
				}
				seen[id] = true
			}
		})
		t.Run("fresh_share_body", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			before := time.Now().UTC().Add(-time.Minute)
			id := s.newShare(s.admin, "x.bin")
			sh := s.getShare(id)
			if sh.ShareID != id || sh.FileName != "x.bin" || sh.OwnerName == nil || *sh.OwnerName != "admin" ||
				sh.Initialized || sh.Locked || sh.Size != nil || sh.SHA256 != nil {
				t.Errorf("fresh share %+v (owner %s, size %v, sha %s); want owner admin, not initialized, not locked, size and sha256 null",
					sh, strp(sh.OwnerName), sh.Size, strp(sh.SHA256))
			}
			if !rfc3339ZRe.MatchString(sh.CreateDate) {
				t.Errorf("create_date %q is not RFC 3339 UTC with Z", sh.CreateDate)
			}
			cd, err := time.Parse(time.RFC3339Nano, sh.CreateDate)
			if err != nil || cd.Before(before) || cd.After(time.Now().Add(time.Minute)) {
				t.Errorf("create_date %q (%v) is not now", sh.CreateDate, err)
			}
		})
		t.Run("file_name_defaults_to_share_id", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			for _, body := range []any{nil, map[string]any{}} {
				r := expect(t, s.req("POST", "/files", s.admin, body), 201)
				id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
				if sh := s.getShare(id); sh.FileName != id {
					t.Errorf("body %v: file_name %q, want the share id %q", body, sh.FileName, id)
				}
			}
		})
		t.Run("owner_is_caller_whatever_the_body_says", func(t *testing.T) {
			// API.md: the owner is the caller, whatever the body says.
			t.Parallel()
			s := s.on(t)
			tok := s.user("creator1", "CREATE", "READ", "LIST")
			s.user("victim1")
			for _, c := range []struct {
				tok  string
				body any
				want *string
			}{
				{tok, map[string]any{"file_name": "f", "owner_name": "victim1"}, strPtr("creator1")},
				{tok, map[string]any{"file_name": "f", "owner_name": "creator1"}, strPtr("creator1")},
				{s.admin, `{"file_name":"n","owner_name":null}`, strPtr("admin")},
			} {
				r := expect(t, s.req("POST", "/files", c.tok, c.body), 201)
				id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
				if sh := s.getShare(id); strp(sh.OwnerName) != strp(c.want) {
					t.Errorf("body %v: owner %s, want %s", c.body, strp(sh.OwnerName), strp(c.want))
				}
			}
		})
	})
}

// fileNameCases are file_name values and whether they are valid.
var fileNameCases = []struct {
	name  string
	value string
	ok    bool
}{
	{"empty_rejected", "", false},
	{"256_bytes_rejected", strings.Repeat("a", 256), false},
	{"256_bytes_multibyte_rejected", strings.Repeat("é", 128), false},
	{"slash_rejected", "a/b", false},
	{"backslash_rejected", `a\b`, false},
	{"control_char_rejected", "a\x01b", false},
	{"newline_rejected", "a\nb", false},
	{"tab_rejected", "a\tb", false},
	{"del_rejected", "a\x7fb", false},
	{"nul_rejected", "a\x00b", false},
	{"c1_control_rejected", "a\u0085b", false},
	{"255_bytes_ok", strings.Repeat("a", 255), true},
	{"255_bytes_multibyte_ok", strings.Repeat("é", 127) + "a", true},
	{"unicode_ok", "naïve файл 日本語.txt", true},
	{"emoji_ok", "party 🎉.png", true},
	{"dots_ok", "..", true},
	{"quote_and_semicolon_ok", `say "hi"; ok.txt`, true},
	{"spaces_ok", "  spaced  ", true},
}

func TestShareFileName(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		for _, tc := range fileNameCases {
			t.Run("create_"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				r := s.req("POST", "/files", s.admin, map[string]string{"file_name": tc.value})
				if !tc.ok {
					expectMsg(t, r, 400, "file_name")
					return
				}
				expect(t, r, 201)
				id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
				if got := s.getShare(id).FileName; got != tc.value {
					t.Errorf("file_name %q came back as %q", tc.value, got)
				}
			})
			t.Run("patch_"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "orig.txt")
				r := s.req("PATCH", "/files/"+id, s.admin, map[string]string{"file_name": tc.value})
				want := "orig.txt"
				if tc.ok {
					expect(t, r, 200)
					want = tc.value
				} else {
					expectMsg(t, r, 400, "file_name")
				}
				if got := s.getShare(id).FileName; got != want {
					t.Errorf("file_name now %q, want %q", got, want)
				}
			})
		}
		for _, tc := range []struct{ name, body string }{
			{"number_rejected", `{"file_name": 5}`},
			{"null_rejected", `{"file_name": null}`},
			{"array_rejected", `{"file_name": ["a"]}`},
			{"non_object_body_rejected", `"hurr durr"`},
			{"array_body_rejected", `[1]`},
			{"not_json_rejected", `{file_name: a}`},
		} {
			t.Run("create_"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				expect(t, s.req("POST", "/files", s.admin, tc.body), 400)
			})
		}
	})
}

// ---- PATCH / PUT /files/{id} ----

func TestSharePatch(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("file_name_changed", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expectMsg(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "b.txt"}), 200)
			if sh := s.getShare(id); sh.FileName != "b.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
				t.Errorf("after PATCH: %+v owner %s; want b.txt owned by admin", sh, strp(sh.OwnerName))
			}
		})
		t.Run("empty_body_changes_nothing", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{}), 200)
			if sh := s.getShare(id); sh.FileName != "a.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
				t.Errorf("after empty PATCH: %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
		t.Run("read_only_and_unknown_fields_refused", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			body := map[string]any{"share_id": missingID(), "initialized": true, "locked": true, "size": 3,
				"sha256": strings.Repeat("0", 64), "create_date": "2000-01-01T00:00:00Z"}
			expectMsg(t, s.req("PATCH", "/files/"+id, s.admin, body), 400, "read-only")
			expectMsg(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"colour": "blue"}), 400, `unknown field "colour"`)
			sh := s.getShare(id)
			if sh.ShareID != id || sh.Initialized || sh.Locked || sh.Size != nil || sh.SHA256 != nil || strings.HasPrefix(sh.CreateDate, "2000") {
				t.Errorf("read-only fields changed: %+v", sh)
			}
		})
		t.Run("owner_given_to_another_user", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			alice := s.user("alice2", "CREATE", "MODIFY", "READ")
			bob := s.user("bob2", "MODIFY", "READ")
			id := s.newShare(alice, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, alice, map[string]any{"owner_name": "bob2"}), 200)
			if sh := s.getShare(id); sh.OwnerName == nil || *sh.OwnerName != "bob2" {
				t.Fatalf("owner %s, want bob2", strp(sh.OwnerName))
			}
			expect(t, s.req("PATCH", "/files/"+id, alice, map[string]any{"file_name": "back.txt"}), 403)
			expect(t, s.req("PUT", "/files/"+id, alice, map[string]any{"file_name": "back.txt", "owner_name": "alice2"}), 403)
			expect(t, s.req("PATCH", "/files/"+id, bob, map[string]any{"file_name": "bobs.txt"}), 200)
			if sh := s.getShare(id); sh.FileName != "bobs.txt" {
				t.Errorf("file_name %q, want bobs.txt", sh.FileName)
			}
		})
		t.Run("owner_null_gives_it_to_anonymous", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			alice := s.user("alice3", "CREATE", "MODIFY", "READ")
			id := s.newShare(alice, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, alice, `{"owner_name": null}`), 200)
			if sh := s.getShare(id); sh.OwnerName != nil {
				t.Fatalf("owner %s, want null", strp(sh.OwnerName))
			}
			expect(t, s.req("PATCH", "/files/"+id, alice, map[string]any{"file_name": "x"}), 403)
			// The admin is not the owner either: MODIFY is owner-only.
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "x"}), 403)
		})
		t.Run("owner_nonexistent_user_rejected", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expectMsg(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"owner_name": "nobody-here"}), 400, "owner_name")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"owner_name": strings.Repeat("n", 300)}), 400)
			if sh := s.getShare(id); sh.OwnerName == nil || *sh.OwnerName != "admin" {
				t.Errorf("owner %s, want admin unchanged", strp(sh.OwnerName))
			}
		})
		t.Run("owner_wrong_type_rejected", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, `{"owner_name": 7}`), 400)
			expect(t, s.req("PATCH", "/files/"+id, s.admin, `{"owner_name": {"a":1}}`), 400)
		})
		t.Run("both_fields_at_once", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			s.user("carol2")
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "c.txt", "owner_name": "carol2"}), 200)
			if sh := s.getShare(id); sh.FileName != "c.txt" || sh.OwnerName == nil || *sh.OwnerName != "carol2" {
				t.Errorf("share %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
		t.Run("invalid_field_changes_nothing", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			s.user("dave2")
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "a/b", "owner_name": "dave2"}), 400)
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "new.txt", "owner_name": "ghost"}), 400)
			if sh := s.getShare(id); sh.FileName != "a.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
				t.Errorf("a rejected PATCH changed the share: %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
	})
}

func TestSharePut(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("both_fields_replaced", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			s.user("erin")
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PUT", "/files/"+id, s.admin, map[string]any{"file_name": "b.txt", "owner_name": "erin"}), 200)
			if sh := s.getShare(id); sh.FileName != "b.txt" || sh.OwnerName == nil || *sh.OwnerName != "erin" {
				t.Errorf("share %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
		t.Run("owner_null_accepted", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("PUT", "/files/"+id, s.admin, `{"file_name":"z","owner_name":null}`), 200)
			if sh := s.getShare(id); sh.FileName != "z" || sh.OwnerName != nil {
				t.Errorf("share %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
		t.Run("what_was_got_can_be_put_back", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			got := expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).Body
			expect(t, s.req("PUT", "/files/"+id, s.admin, got), 200)
			if sh := s.getShare(id); sh.FileName != "a.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
				t.Errorf("share %+v owner %s", sh, strp(sh.OwnerName))
			}
		})
		for _, tc := range []struct{ name, body string }{
			{"missing_owner_name_rejected", `{"file_name":"b.txt"}`},
			{"missing_file_name_rejected", `{"owner_name":"admin"}`},
			{"empty_object_rejected", `{}`},
			{"nonexistent_owner_rejected", `{"file_name":"b.txt","owner_name":"ghost"}`},
			{"bad_file_name_rejected", `{"file_name":"a/b","owner_name":"admin"}`},
			{"non_object_rejected", `"hurr durr"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "a.txt")
				expect(t, s.req("PUT", "/files/"+id, s.admin, tc.body), 400)
				if sh := s.getShare(id); sh.FileName != "a.txt" || sh.OwnerName == nil || *sh.OwnerName != "admin" {
					t.Errorf("a rejected PUT changed the share: %+v owner %s", sh, strp(sh.OwnerName))
				}
			})
		}
	})
}

// TestShareCheckOrder: 401/403 permission → 404 → 403 owner → 423 locked → 400 body.
func TestShareCheckOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		other := s.user("other", "CREATE", "MODIFY", "READ")
		noModify := s.user("nomodify", "CREATE", "READ", "DELETE", "LOCK", "LIST")
		mine := s.newShare(s.admin, "mine.txt")
		theirs := s.newShare(other, "theirs.txt")
		locked := s.newShare(s.admin, "locked.txt")
		theirsLocked := s.newShare(other, "theirs-locked.txt")
		expect(t, s.req("POST", "/files/"+locked+"/lock", s.admin, nil), 200)
		expect(t, s.req("POST", "/files/"+theirsLocked+"/lock", s.admin, nil), 200)

		good := map[string]string{
			"PATCH": `{"file_name":"new.txt"}`,
			"PUT":   `{"file_name":"new.txt","owner_name":"admin"}`,
		}
		bad := []string{`"hurr durr"`, `{"file_name": 5}`, `{"file_name":"a/b","owner_name":"admin"}`, `not json`, `[1]`}
		t.Run("cases", func(t *testing.T) {
			for _, method := range []string{"PATCH", "PUT"} {
				cases := []struct {
					name   string
					id     string
					token  string
					status int
				}{
					{"anonymous_unauthorized", mine, "", 401},
					{"no_modify_forbidden", mine, noModify, 403},
					{"no_modify_missing_forbidden", missingID(), noModify, 403},
					{"missing_not_found", missingID(), s.admin, 404},
					{"not_owner_forbidden", theirs, s.admin, 403},
					{"not_owner_locked_forbidden", theirsLocked, s.admin, 403},
					{"locked", locked, s.admin, 423},
				}
				for _, tc := range cases {
					t.Run(method+"_"+tc.name+"_good_body", func(t *testing.T) {
						t.Parallel()
						s := s.on(t)
						expect(t, s.req(method, "/files/"+tc.id, tc.token, good[method]), tc.status)
					})
					t.Run(method+"_"+tc.name+"_bad_body", func(t *testing.T) {
						t.Parallel()
						s := s.on(t)
						for _, b := range bad {
							r := s.req(method, "/files/"+tc.id, tc.token, b)
							if r.Status != tc.status {
								t.Errorf("body %s: status %d, want %d: %s", b, r.Status, tc.status, r.Body)
							}
						}
					})
				}
				t.Run(method+"_own_unlocked_bad_body_bad_request", func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					for _, b := range bad {
						if r := s.req(method, "/files/"+mine, s.admin, b); r.Status != 400 {
							t.Errorf("body %s: status %d, want 400: %s", b, r.Status, r.Body)
						}
					}
				})
			}
		})
		t.Run("locked_share_unchanged", func(t *testing.T) {
			s := s.on(t)
			if sh := s.getShare(locked); sh.FileName != "locked.txt" {
				t.Errorf("a locked share was renamed to %q", sh.FileName)
			}
		})
	})
}

// ---- DELETE, lock, unlock ----

func TestShareDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("deleted_then_not_found", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expectMsg(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
			expect(t, s.req("GET", "/files/"+id, s.admin, nil), 404)
			expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 404)
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "b"}), 404)
			expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 404)
		})
		t.Run("with_content_deleted", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			s.upload("POST", id, s.admin, []byte("hello"), 5)
			expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
			expect(t, s.content(id, s.admin), 404)
		})
		t.Run("any_share_not_only_own", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			owner := s.user("delowner", "CREATE")
			deleter := s.user("deleter", "DELETE")
			id := s.newShare(owner, "a.txt")
			expect(t, s.req("DELETE", "/files/"+id, deleter, nil), 200)
			expect(t, s.req("GET", "/files/"+id, s.admin, nil), 404)
		})
		t.Run("locked_refused_then_unlocked_deleted", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
			expectMsg(t, s.req("DELETE", "/files/"+id, s.admin, nil), 423)
			expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200)
			expect(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200)
			expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
		})
		t.Run("missing_not_found", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			expect(t, s.req("DELETE", "/files/"+missingID(), s.admin, nil), 404)
		})
	})
}

func TestShareLock(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("lock_unlock_round_trip", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expectMsg(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
			if !s.getShare(id).Locked {
				t.Error("locked is false after lock")
			}
			expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
			expectMsg(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200)
			if s.getShare(id).Locked {
				t.Error("locked is true after unlock")
			}
			expect(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200)
		})
		t.Run("any_share_not_only_own", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			owner := s.user("lockowner", "CREATE", "MODIFY")
			locker := s.user("locker", "LOCK")
			id := s.newShare(owner, "a.txt")
			expect(t, s.req("POST", "/files/"+id+"/lock", locker, nil), 200)
			expect(t, s.req("PATCH", "/files/"+id, owner, map[string]any{"file_name": "b"}), 423)
			expect(t, s.req("POST", "/files/"+id+"/unlock", locker, nil), 200)
			expect(t, s.req("PATCH", "/files/"+id, owner, map[string]any{"file_name": "b"}), 200)
		})
		t.Run("missing_not_found", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			expect(t, s.req("POST", "/files/"+missingID()+"/lock", s.admin, nil), 404)
			expect(t, s.req("POST", "/files/"+missingID()+"/unlock", s.admin, nil), 404)
		})
		t.Run("ignores_a_body", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "a.txt")
			expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, `{"locked": false}`), 200)
			if !s.getShare(id).Locked {
				t.Error("not locked")
			}
		})
	})
}

// ---- non-canonical ids ----

func TestShareBadIDs(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		real := s.newShare(s.admin, "real.txt")
		s.upload("POST", real, s.admin, []byte("content"), 100)
		ids := []struct{ name, id string }{
			{"short", "abc"},
			{"uppercase", strings.ToUpper(real)},
			{"one_uppercase_letter", upperFirstLetter(real)},
			{"no_hyphens", strings.ReplaceAll(real, "-", "")},
			{"braces", "%7B" + real + "%7D"},
			{"urn", "urn:uuid:" + real},
			{"trailing_space", real + "%20"},
			{"dot_dot_slash", "../x"},
			{"dot_dot_escaped", "..%2Fx"},
			{"long_1000", strings.Repeat("a", 1000)},
			{"long_uuidish", strings.Repeat(real, 30)},
			{"nul", "%00"},
			{"percent_garbage", "%C0%AF"},
			{"unicode", "%E2%80%8B" + real},
		}
		ct, chunkBody := chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("x")}.form()
		type route struct {
			method, suffix string
			ct             string
			body           []byte
		}
		routes := []route{
			{"GET", "", "", nil},
			{"PATCH", "", "application/json", []byte(`{"file_name":"x"}`)},
			{"PATCH", "", "application/json", []byte(`"hurr durr"`)},
			{"PUT", "", "application/json", []byte(`{"file_name":"x","owner_name":"admin"}`)},
			{"PUT", "", "application/json", []byte(`{}`)},
			{"DELETE", "", "", nil},
			{"POST", "/lock", "", nil},
			{"POST", "/unlock", "", nil},
			{"GET", "/content", "", nil},
			{"HEAD", "/content", "", nil},
			{"POST", "/content", ct, chunkBody},
			{"POST", "/content", "text/plain", []byte("not multipart")},
			{"PUT", "/content", ct, chunkBody},
			{"PUT", "/content", "text/plain", []byte("not multipart")},
		}
		t.Run("cases", func(t *testing.T) {
			for _, tc := range ids {
				t.Run(tc.name+"_not_found_everywhere", func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					for _, rt := range routes {
						r, err := s.try(rt.method, "/files/"+tc.id+rt.suffix, s.admin, rt.ct, rt.body)
						if err != nil {
							t.Fatalf("%s %s: %v", rt.method, rt.suffix, err)
						}
						if r.Status != 404 {
							t.Errorf("%s /files/%.40s%s → %d, want 404: %.200s", rt.method, tc.id, rt.suffix, r.Status, r.Body)
						}
					}
				})
			}
		})
		t.Run("real_share_untouched", func(t *testing.T) {
			s := s.on(t)
			sh := s.getShare(real)
			if sh.FileName != "real.txt" || sh.Locked || !sh.Initialized {
				t.Errorf("the share addressed by a non-canonical form of its id changed: %+v", sh)
			}
		})
	})
}

// upperFirstLetter uppercases the first hex letter of a uuid.
func upperFirstLetter(id string) string {
	i := strings.IndexAny(id, "abcdef")
	return id[:i] + strings.ToUpper(id[i:i+1]) + id[i+1:]
}

// ---- permissions ----

var allPerms = []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}

func permsWithout(p string) []string {
	var out []string
	for _, q := range allPerms {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

func TestSharePermissions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		lacking := map[string]string{}
		for _, p := range allPerms {
			if p != "ADMIN" {
				lacking[p] = s.user("no"+strings.ToLower(p), permsWithout(p)...)
			}
		}
		adminOnly := s.user("adminonly", "ADMIN")
		type route struct {
			method, path, perm string
			ct                 string
			body               []byte
		}
		routes := func(id string) []route {
			ct, chunkBody := chunk{UUID: "perm", Index: 0, Total: 2, Data: []byte("x")}.form()
			return []route{
				{"POST", "/files", "CREATE", "application/json", []byte(`{"file_name":"p"}`)},
				{"GET", "/files", "LIST", "", nil},
				{"GET", "/files/" + id, "READ", "", nil},
				{"PATCH", "/files/" + id, "MODIFY", "application/json", []byte(`{"file_name":"p"}`)},
				{"PUT", "/files/" + id, "MODIFY", "application/json", []byte(`{"file_name":"p","owner_name":"admin"}`)},
				{"DELETE", "/files/" + id, "DELETE", "", nil},
				{"POST", "/files/" + id + "/lock", "LOCK", "", nil},
				{"POST", "/files/" + id + "/unlock", "LOCK", "", nil},
				{"GET", "/files/" + id + "/content", "READ", "", nil},
				{"HEAD", "/files/" + id + "/content", "READ", "", nil},
				{"POST", "/files/" + id + "/content", "CREATE", ct, chunkBody},
				{"PUT", "/files/" + id + "/content", "MODIFY", ct, chunkBody},
			}
		}
		existing := s.newShare(s.admin, "perm.txt")
		s.upload("POST", existing, s.admin, []byte("perm"), 10)
		t.Run("cases", func(t *testing.T) {
			for _, target := range []struct{ name, id string }{{"existing", existing}, {"missing", missingID()}, {"malformed", "abc"}} {
				for _, rt := range routes(target.id) {
					name := rt.method + "_" + strings.NewReplacer("/files", "files", "/", "_", target.id, "id").Replace(rt.path)
					if strings.HasPrefix(rt.path, "/files/") {
						name += "_" + target.name
					} else if target.name != "existing" {
						continue
					}
					t.Run(name+"_anonymous_unauthorized", func(t *testing.T) {
						t.Parallel()
						s := s.on(t)
						r, err := s.try(rt.method, rt.path, "", rt.ct, rt.body)
						if err != nil {
							t.Fatal(err)
						}
						if r.Status != 401 {
							t.Errorf("anonymous %s %s → %d, want 401: %s", rt.method, rt.path, r.Status, r.Body)
						}
					})
					t.Run(name+"_without_"+rt.perm+"_forbidden", func(t *testing.T) {
						t.Parallel()
						s := s.on(t)
						for _, tok := range []string{lacking[rt.perm], adminOnly} {
							r, err := s.try(rt.method, rt.path, tok, rt.ct, rt.body)
							if err != nil {
								t.Fatal(err)
							}
							if r.Status != 403 {
								t.Errorf("%s %s without %s → %d, want 403: %s", rt.method, rt.path, rt.perm, r.Status, r.Body)
							}
							if rt.method != "HEAD" && r.Status == 403 && !strings.Contains(r.Message(), rt.perm) {
								t.Errorf("403 message %q does not name %s", r.Message(), rt.perm)
							}
						}
					})
				}
			}
		})
		t.Run("nothing_changed", func(t *testing.T) {
			s := s.on(t)
			sh := s.getShare(existing)
			if sh.FileName != "perm.txt" || sh.Locked || !sh.Initialized {
				t.Errorf("refused requests changed the share: %+v", sh)
			}
			if r := expect(t, s.content(existing, s.admin), 200); string(r.Body) != "perm" {
				t.Errorf("content %q, want perm", r.Body)
			}
		})
	})
}

// TestShareAnonymous: anonymous callers with permissions own their shares.
func TestShareAnonymous(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		s.setAnon("CREATE", "MODIFY", "READ", "LIST", "LOCK", "DELETE")
		r := expect(t, s.req("POST", "/files", "", map[string]any{"file_name": "anon.txt", "owner_name": nil}), 201)
		id := strings.TrimPrefix(r.JSON(t)["url"].(string), "/files/")
		if !uuidV4Re.MatchString(id) {
			t.Fatalf("id %q", id)
		}
		sh := s.getShare(id)
		if sh.OwnerName != nil {
			t.Fatalf("anonymous share owner %s, want null", strp(sh.OwnerName))
		}
		expect(t, s.req("GET", "/files/"+id, "", nil), 200)
		expect(t, s.req("PATCH", "/files/"+id, "", map[string]any{"file_name": "anon2.txt"}), 200)
		// Users, even the admin, don't own it.
		expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "stolen.txt"}), 403)
		expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "a", Index: 0, Total: 1, Data: []byte("x")}), 403)
		data := randBytes(3000)
		s.upload("POST", id, "", data, 1000)
		if r := expect(t, s.content(id, ""), 200); !bytes.Equal(r.Body, data) {
			t.Errorf("anonymous download differs")
		}
		s.upload("PUT", id, "", data[:100], 60)
		if r := expect(t, s.content(id, ""), 200); !bytes.Equal(r.Body, data[:100]) {
			t.Errorf("anonymous replace: content differs")
		}
		sh = s.getShare(id)
		if sh.FileName != "anon2.txt" || sh.OwnerName != nil || sh.Size == nil || *sh.Size != 100 {
			t.Errorf("share %+v owner %s", sh, strp(sh.OwnerName))
		}
		// Anonymous gives it to a user, and then no longer owns it.
		s.user("taker")
		expect(t, s.req("PATCH", "/files/"+id, "", map[string]any{"owner_name": "taker"}), 200)
		expect(t, s.req("PATCH", "/files/"+id, "", map[string]any{"file_name": "back.txt"}), 403)
		// An anonymous share created by anonymous is not a user's.
		other := s.newShare("", "")
		expect(t, s.req("PUT", "/files/"+other, s.admin, map[string]any{"file_name": "x", "owner_name": "admin"}), 403)
		expect(t, s.req("PUT", "/files/"+other, "", map[string]any{"file_name": "x", "owner_name": "admin"}), 200)
		expect(t, s.req("POST", "/files/"+other+"/lock", "", nil), 200)
		expect(t, s.req("PATCH", "/files/"+other, s.admin, map[string]any{"file_name": "y"}), 423)
		expect(t, s.req("POST", "/files/"+other+"/unlock", "", nil), 200)
		expect(t, s.req("GET", "/files", "", nil), 200)
		expect(t, s.req("DELETE", "/files/"+other, "", nil), 200)
		// A bad token is never downgraded to anonymous.
		expect(t, s.req("GET", "/files/"+id, "not-a-token", nil), 401)
	})
}

// ---- GET /files ----

func TestShareList(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		const n = 7
		created := map[string]bool{}
		for i := 0; i < n; i++ {
			created[s.newShare(s.admin, fmt.Sprintf("f%d", i))] = true
		}
		type page struct {
			Data  []shareBody `json:"data"`
			Next  *int        `json:"next"`
			Prev  *int        `json:"prev"`
			Pages int         `json:"pages"`
		}
		get := func(t *testing.T, q string) page {
			t.Helper()
			r := expect(t, s.req("GET", "/files"+q, s.admin, nil), 200)
			var p page
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		ordered := func(t *testing.T, data []shareBody) {
			t.Helper()
			ok := sort.SliceIsSorted(data, func(i, j int) bool {
				a, _ := time.Parse(time.RFC3339Nano, data[i].CreateDate)
				b, _ := time.Parse(time.RFC3339Nano, data[j].CreateDate)
				if !a.Equal(b) {
					return a.Before(b)
				}
				return data[i].ShareID < data[j].ShareID
			})
			if !ok {
				for _, d := range data {
					t.Logf("%s %s", d.CreateDate, d.ShareID)
				}
				t.Error("not ordered by create_date, then share_id")
			}
		}
		t.Run("default_page_has_all_in_order", func(t *testing.T) {
			p := get(t, "")
			if len(p.Data) != n || p.Pages != 1 || p.Next != nil || p.Prev != nil {
				t.Errorf("got %d items, pages %d, next %v, prev %v", len(p.Data), p.Pages, p.Next, p.Prev)
			}
			ordered(t, p.Data)
		})
		t.Run("forward_and_back_visit_each_once", func(t *testing.T) {
			var all []shareBody
			seen := map[string]int{}
			for i := 1; i <= 3; i++ {
				p := get(t, fmt.Sprintf("?page=%d&per_page=3", i))
				if p.Pages != 3 {
					t.Errorf("page %d: pages %d, want 3", i, p.Pages)
				}
				wantLen := 3
				if i == 3 {
					wantLen = 1
				}
				if len(p.Data) != wantLen {
					t.Errorf("page %d: %d items, want %d", i, len(p.Data), wantLen)
				}
				if (i < 3) != (p.Next != nil) || (p.Next != nil && *p.Next != i+1) {
					t.Errorf("page %d: next %v", i, p.Next)
				}
				if (i > 1) != (p.Prev != nil) || (p.Prev != nil && *p.Prev != i-1) {
					t.Errorf("page %d: prev %v", i, p.Prev)
				}
				for _, d := range p.Data {
					seen[d.ShareID]++
				}
				all = append(all, p.Data...)
			}
			ordered(t, all)
			for id := range created {
				if seen[id] != 1 {
					t.Errorf("share %s seen %d times", id, seen[id])
				}
			}
			if len(seen) != n {
				t.Errorf("saw %d distinct shares, want %d", len(seen), n)
			}
			var back []shareBody
			for i := 3; i >= 1; i-- {
				back = append(get(t, fmt.Sprintf("?page=%d&per_page=3", i)).Data, back...)
			}
			for i := range all {
				if i >= len(back) || back[i].ShareID != all[i].ShareID {
					t.Fatalf("paging back gives a different order")
				}
			}
		})
		t.Run("page_past_end_empty", func(t *testing.T) {
			p := get(t, "?page=4&per_page=3")
			if len(p.Data) != 0 || p.Next != nil || p.Prev == nil || *p.Prev != 3 || p.Pages != 3 {
				t.Errorf("past the end: %d items, next %v, prev %v, pages %d; want 0, null, 3, 3", len(p.Data), p.Next, p.Prev, p.Pages)
			}
			p = get(t, "?page=1000&per_page=100")
			if len(p.Data) != 0 || p.Next != nil || p.Prev == nil || *p.Prev != 1 {
				t.Errorf("far past the end: %d items, next %v, prev %v", len(p.Data), p.Next, p.Prev)
			}
		})
		t.Run("bad_parameters_rejected", func(t *testing.T) {
			for _, q := range []string{"?page=0", "?page=-1", "?page=x", "?per_page=0", "?per_page=101", "?per_page=1.5", "?page=100000000000000000000"} {
				if r := s.req("GET", "/files"+q, s.admin, nil); r.Status != 400 {
					t.Errorf("GET /files%s → %d, want 400", q, r.Status)
				}
			}
		})
		t.Run("shows_owner_and_state", func(t *testing.T) {
			p := get(t, "?per_page=100")
			for _, d := range p.Data {
				if !created[d.ShareID] || d.OwnerName == nil || *d.OwnerName != "admin" || d.Initialized || d.Size != nil {
					t.Errorf("listed share %+v", d)
				}
			}
		})
	})
}

// TestShareOwnerDeletion: a user who owns shares can't be deleted.
func TestShareOwnerDeletion(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		tok := s.user("hoarder", "CREATE", "MODIFY")
		a := s.newShare(tok, "a")
		b := s.newShare(tok, "b")
		s.newShare(tok, "c")
		r := s.req("DELETE", "/users/hoarder", s.admin, nil)
		expectMsg(t, r, 409, "3")
		expect(t, s.req("PATCH", "/files/"+a, tok, map[string]any{"owner_name": "admin"}), 200)
		expect(t, s.req("DELETE", "/files/"+b, s.admin, nil), 200)
		expectMsg(t, s.req("DELETE", "/users/hoarder", s.admin, nil), 409, "1")
		// Giving the last share to anonymous frees the user.
		p := expect(t, s.req("GET", "/files?per_page=100", s.admin, nil), 200)
		var page struct{ Data []shareBody }
		json.Unmarshal(p.Body, &page)
		for _, d := range page.Data {
			if d.OwnerName != nil && *d.OwnerName == "hoarder" {
				expect(t, s.req("PATCH", "/files/"+d.ShareID, tok, `{"owner_name":null}`), 200)
			}
		}
		expect(t, s.req("DELETE", "/users/hoarder", s.admin, nil), 200)
	})
}
