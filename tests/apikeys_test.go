package tests

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// API keys (issue 13, item 2): named credentials a user makes for
// scripts, sent as `Authorization: Bearer sachet_<id>_<secret>`, with the
// key's permissions cut to the user's current ones at each use.

var keyShape = regexp.MustCompile(`^sachet_([0-9a-f]{16})_[0-9a-f]{64}$`)

// newKey creates a key for the holder of tok (named user) and returns its
// secret and id.
func (s *server) newKey(tok, user, name string, perms ...string) (secret, id string) {
	s.t.Helper()
	if perms == nil {
		perms = []string{}
	}
	r := expect(s.t, s.req("POST", "/users/"+user+"/keys", tok, map[string]any{"name": name, "permissions": perms}), 201)
	m := r.JSON(s.t)
	secret, _ = m["secret"].(string)
	sm := keyShape.FindStringSubmatch(secret)
	if sm == nil {
		s.t.Fatalf("secret %q is not sachet_<16 hex>_<64 hex>", secret)
	}
	return secret, sm[1]
}

// keyList returns the user's keys as listed by GET, and the raw body.
func (s *server) keyList(tok, user string) ([]map[string]any, string) {
	s.t.Helper()
	r := expect(s.t, s.req("GET", "/users/"+user+"/keys", tok, nil), 200)
	var body struct{ Data []map[string]any }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		s.t.Fatal(err)
	}
	return body.Data, string(r.Body)
}

// whoamiPerms returns /whoami's permissions for tok, expecting 200.
func (s *server) whoamiPerms(tok string) []any {
	s.t.Helper()
	p, _ := expect(s.t, s.req("GET", "/whoami", tok, nil), 200).JSON(s.t)["permissions"].([]any)
	return p
}

func permsEqual(got []any, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestAPIKeyLifecycle(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("kai", "CREATE", "LIST", "READ")
		r := expect(t, s.req("POST", "/users/kai/keys", tok, map[string]any{"name": "backup script", "permissions": []string{"READ", "CREATE", "READ"}}), 201)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
		m := r.JSON(t)
		secret, _ := m["secret"].(string)
		sm := keyShape.FindStringSubmatch(secret)
		if sm == nil {
			t.Fatalf("secret %q is not sachet_<16 hex>_<64 hex>", secret)
		}
		id := sm[1]
		if url := "/users/kai/keys/" + id; m["url"] != url || r.Header.Get("Location") != url {
			t.Errorf("url %v / Location %q, want %s", m["url"], r.Header.Get("Location"), url)
		}
		key, _ := m["key"].(map[string]any)
		if key["key_id"] != id || key["name"] != "backup script" || key["last_used_date"] != nil || key["expire_date"] != nil {
			t.Errorf("created key %v", key)
		}
		if p, _ := key["permissions"].([]any); !permsEqual(p, "CREATE", "READ") {
			t.Errorf("permissions %v, want [CREATE READ]", p)
		}

		// Used: it acts as kai with the key's permissions, and owns what it makes.
		if got := expect(t, s.req("GET", "/whoami", secret, nil), 200).JSON(t); got["username"] != "kai" || !permsEqual(got["permissions"].([]any), "CREATE", "READ") {
			t.Errorf("whoami with the key: %v", got)
		}
		share := s.newShare(secret, "from-a-script.txt")
		if owner := expect(t, s.req("GET", "/files/"+share, secret, nil), 200).JSON(t)["owner_name"]; owner != "kai" {
			t.Errorf("owner %v, want kai", owner)
		}
		s.upload("POST", share, secret, []byte("hello from a key"), 8)
		// LIST is kai's but not the key's.
		expect(t, s.req("GET", "/files", secret, nil), 403)
		// The scheme word is case-insensitive, as for tokens.
		expect(t, s.reqAuthz("GET", "/whoami", "bearer "+secret, nil), 200)

		// Listed with its last use, never with its secret.
		list, raw := s.keyList(tok, "kai")
		if len(list) != 1 || list[0]["key_id"] != id || list[0]["name"] != "backup script" {
			t.Fatalf("list %s", raw)
		}
		if list[0]["last_used_date"] == nil {
			t.Error("last_used_date is null after the key was used")
		}
		if _, ok := list[0]["secret"]; ok || strings.Contains(raw, secret) || strings.Contains(raw, secret[len(secret)-64:]) {
			t.Errorf("the list shows the secret: %s", raw)
		}
		// A key may list its user's keys too (the CLI's `key ls`).
		if l, _ := s.keyList(secret, "kai"); len(l) != 1 {
			t.Errorf("listed with the key: %d keys, want 1", len(l))
		}

		// Revoked: 401 at once, everywhere, anonymous-friendly routes included.
		wantEnvelope(t, expect(t, s.req("DELETE", "/users/kai/keys/"+id, tok, nil), 200), "success", "Key revoked.")
		for _, p := range []string{"/whoami", "/files/" + share} {
			wantFailMsg(t, expect(t, s.req("GET", p, secret, nil), 401), "API key")
		}
		expect(t, s.req("DELETE", "/users/kai/keys/"+id, tok, nil), 404)
		if l, _ := s.keyList(tok, "kai"); len(l) != 0 {
			t.Errorf("%d keys listed after the revocation, want 0", len(l))
		}
		// The user's token is untouched.
		expect(t, s.req("GET", "/whoami", tok, nil), 200)
	})
}

func TestAPIKeyReadOnly(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("rita", "CREATE", "MODIFY", "READ")
		share := s.newShare(tok, "notes.txt") // rita's own, uninitialized
		done := s.newShare(tok, "done.txt")
		s.upload("POST", done, tok, []byte("content"), 4)
		key, _ := s.newKey(tok, "rita", "reader", "READ")

		expect(t, s.req("GET", "/files/"+done, key, nil), 200)
		expect(t, s.content(done, key), 200)
		for name, r := range map[string]reply{
			"upload first content": s.sendChunk("POST", share, key, chunk{UUID: "u1", Index: 0, Total: 1, Data: []byte("x")}),
			"replace content":      s.sendChunk("PUT", done, key, chunk{UUID: "u2", Index: 0, Total: 1, Data: []byte("y")}),
			"create a share":       s.req("POST", "/files", key, map[string]string{"file_name": "no.txt"}),
			"rename a share":       s.req("PATCH", "/files/"+done, key, map[string]string{"file_name": "no.txt"}),
		} {
			if r.Status != 403 {
				t.Errorf("%s with a READ key: %d, want 403; %s", name, r.Status, r.Body)
			} else {
				wantFailMsg(t, r, "permission")
			}
		}
		if got := expect(t, s.content(done, tok), 200).Body; string(got) != "content" {
			t.Errorf("content %q after refused writes", got)
		}
	})
}

func TestAPIKeyPermissionsFollowTheUser(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("uma", "CREATE", "READ")
		key, _ := s.newKey(tok, "uma", "ci", "CREATE", "READ")
		s.newShare(key, "before.txt")

		// The user loses CREATE: the key loses it at once.
		expect(t, s.req("PATCH", "/users/uma", s.admin, map[string]any{"permissions": []string{"READ"}}), 200)
		expect(t, s.req("POST", "/files", key, nil), 403)
		if p := s.whoamiPerms(key); !permsEqual(p, "READ") {
			t.Errorf("key's permissions %v, want [READ]", p)
		}
		// Gaining a permission the key never had gives the key nothing.
		expect(t, s.req("PATCH", "/users/uma", s.admin, map[string]any{"permissions": []string{"CREATE", "LIST", "READ"}}), 200)
		expect(t, s.req("GET", "/files", key, nil), 403)
		// CREATE is back for the user, so for the key: a cut, not a copy.
		s.newShare(key, "after.txt")
		if p := s.whoamiPerms(key); !permsEqual(p, "CREATE", "READ") {
			t.Errorf("key's permissions %v, want [CREATE READ]", p)
		}
	})
}

func TestAPIKeyCannotManageCredentials(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("vic", "CREATE", "READ", "ADMIN")
		key, id := s.newKey(tok, "vic", "everything", "CREATE", "READ", "ADMIN")
		other := s.login("vic", "vic-pw")
		wrong := wrongSecret(key)
		cases := []struct {
			name, method, path string
			body               any
		}{
			{"CreateKey", "POST", "/users/vic/keys", map[string]any{"name": "child", "permissions": []string{"READ"}}},
			{"ChangePassword", "POST", "/users/password", map[string]string{"old": "vic-pw", "new": "stolen-pw"}},
			{"ExtendToken", "POST", "/users/extend", nil},
			{"Logout", "POST", "/users/logout", map[string]string{"token": other}},
			{"EndSessions", "DELETE", "/users/vic/tokens", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req(c.method, c.path, key, c.body), 403), "API key")
				// A key that does not authenticate is 401 there as anywhere.
				expect(t, s.req(c.method, c.path, wrong, c.body), 401)
			})
		}
		// Nothing happened: the password, the other token, no new key.
		s.login("vic", "vic-pw")
		expect(t, s.req("GET", "/whoami", other, nil), 200)
		if l, _ := s.keyList(tok, "vic"); len(l) != 1 {
			t.Errorf("%d keys, want 1", len(l))
		}
		// Its ADMIN still works where keys are accepted, and it may revoke itself.
		expect(t, s.req("GET", "/users", key, nil), 200)
		expect(t, s.req("DELETE", "/users/vic/keys/"+id, key, nil), 200)
		expect(t, s.req("GET", "/whoami", key, nil), 401)
	})
}

func TestAPIKeyCreateChecks(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("wes", "CREATE", "READ")
		bob := s.user("bob", "READ")
		s.newKey(tok, "wes", "taken", "READ")
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		cases := []struct {
			name   string
			token  string
			path   string
			body   any
			status int
			words  []string
		}{
			{"LacksPermissions", tok, "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{"READ", "LIST", "ADMIN"}}, 400, []string{"LIST, ADMIN"}},
			{"UnknownPermission", tok, "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{"SUPER"}}, 400, []string{"permissions"}},
			{"MissingName", tok, "/users/wes/keys", map[string]any{"permissions": []string{"READ"}}, 400, []string{"name"}},
			{"EmptyName", tok, "/users/wes/keys", map[string]any{"name": "", "permissions": []string{}}, 400, []string{"name"}},
			{"ControlInName", tok, "/users/wes/keys", map[string]any{"name": "a\x1bb", "permissions": []string{}}, 400, []string{"control"}},
			{"LongName", tok, "/users/wes/keys", map[string]any{"name": strings.Repeat("é", 65), "permissions": []string{}}, 400, []string{"name"}},
			{"MissingPermissions", tok, "/users/wes/keys", map[string]any{"name": "k"}, 400, []string{"permissions"}},
			{"UnknownField", tok, "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{}, "secret": "mine"}, 400, []string{"secret"}},
			{"ExpiryInThePast", tok, "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{}, "expire_date": past}, 400, []string{"expire_date"}},
			{"BadExpiry", tok, "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{}, "expire_date": "tomorrow"}, 400, []string{"expire_date"}},
			{"DuplicateName", tok, "/users/wes/keys", map[string]any{"name": "taken", "permissions": []string{}}, 409, []string{"taken"}},
			{"ForSomeoneElse", tok, "/users/bob/keys", map[string]any{"name": "k", "permissions": []string{}}, 403, []string{"yourself"}},
			{"AdminForSomeoneElse", s.admin, "/users/bob/keys", map[string]any{"name": "k", "permissions": []string{}}, 403, []string{"yourself"}},
			{"SomeoneElseBadBody", tok, "/users/bob/keys", map[string]any{"name": 7}, 403, []string{"yourself"}},
			{"Anonymous", "", "/users/wes/keys", map[string]any{"name": "k", "permissions": []string{}}, 401, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := s.on(t)
				wantFailMsg(t, expect(t, s.req("POST", c.path, c.token, c.body), c.status), c.words...)
			})
		}
		t.Run("ListAndRevokeSelfOrAdmin", func(t *testing.T) {
			s := s.on(t)
			_, id := s.newKey(tok, "wes", "second")
			expect(t, s.req("GET", "/users/wes/keys", bob, nil), 403)
			expect(t, s.req("DELETE", "/users/wes/keys/"+id, bob, nil), 403)
			expect(t, s.req("GET", "/users/nobody/keys", s.admin, nil), 403)
			expect(t, s.req("GET", "/users/wes/keys", "", nil), 401)
			if l, _ := s.keyList(s.admin, "wes"); len(l) != 2 {
				t.Errorf("admin lists %d keys of wes, want 2", len(l))
			}
			// Someone else's key id under one's own name is no key of one's own.
			expect(t, s.req("DELETE", "/users/bob/keys/"+id, bob, nil), 404)
			expect(t, s.req("DELETE", "/users/wes/keys/"+id, s.admin, nil), 200)
		})
		t.Run("ExpiryKept", func(t *testing.T) {
			s := s.on(t)
			exp := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
			r := expect(t, s.req("POST", "/users/wes/keys", tok, map[string]any{"name": "monthly", "permissions": []string{"READ"}, "expire_date": exp.Format(time.RFC3339)}), 201)
			key, _ := r.JSON(t)["key"].(map[string]any)
			got, err := time.Parse(time.RFC3339Nano, key["expire_date"].(string))
			if err != nil || !got.Equal(exp) {
				t.Errorf("expire_date %v, want %v", key["expire_date"], exp)
			}
		})
	})
}

func TestAPIKeyExpiry(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("xia", "READ")
		exp := time.Now().Add(1500 * time.Millisecond)
		r := expect(t, s.req("POST", "/users/xia/keys", tok, map[string]any{"name": "brief", "permissions": []string{"READ"}, "expire_date": exp.UTC().Format(time.RFC3339Nano)}), 201)
		key, _ := r.JSON(t)["secret"].(string)
		expect(t, s.req("GET", "/whoami", key, nil), 200)
		// Wait until the expiry has passed: the answer then is certain.
		time.Sleep(time.Until(exp) + 50*time.Millisecond)
		wantFailMsg(t, expect(t, s.req("GET", "/whoami", key, nil), 401), "expired")
		// Still listed (with its expiry), so its owner sees why it stopped.
		if l, _ := s.keyList(tok, "xia"); len(l) != 1 || l[0]["expire_date"] == nil {
			t.Errorf("list after expiry: %v", l)
		}
	})
}

func TestAPIKeyDiesWithItsUser(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("yan", "READ")
		key, _ := s.newKey(tok, "yan", "ci", "READ")
		expect(t, s.req("GET", "/whoami", key, nil), 200) // cached now
		expect(t, s.req("DELETE", "/users/yan", s.admin, nil), 200)
		expect(t, s.req("GET", "/whoami", key, nil), 401)
		// A new account of the same name does not revive it.
		s.user("yan", "READ")
		expect(t, s.req("GET", "/whoami", key, nil), 401)
		if n := countRows(t, s, "SELECT COUNT(*) FROM api_keys"); n != 0 {
			t.Errorf("%d key rows left after the user was deleted", n)
		}
	})
}

func TestAPIKeyStoredHashed(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("zed", "READ")
		secret, id := s.newKey(tok, "zed", "ci", "READ")
		db := rawDB(t, s)
		var row struct{ id, hash, name string }
		if err := db.QueryRow("SELECT key_id, secret_hash, name FROM api_keys").Scan(&row.id, &row.hash, &row.name); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(secret))
		if row.id != id || row.hash != hex.EncodeToString(sum[:]) {
			t.Errorf("row (%s, %s), want the id and the secret's SHA-256", row.id, row.hash)
		}
		rand := secret[len(secret)-64:]
		if strings.Contains(row.hash, rand) || strings.Contains(row.id, rand) || strings.Contains(row.name, rand) {
			t.Error("the stored row contains the secret")
		}
	})
}

func TestAPIKeyMalformed(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		tok := s.user("ari", "READ")
		secret, id := s.newKey(tok, "ari", "ci", "READ")
		for name, key := range map[string]string{
			"PrefixOnly":      "sachet_",
			"NoSecret":        "sachet_" + id,
			"ShortSecret":     "sachet_" + id + "_abc",
			"WrongSecret":     "sachet_" + id + "_" + strings.Repeat("0", 64),
			"UppercaseSecret": strings.ToUpper(secret[:7]) + secret[7:],
			"UnknownID":       "sachet_0000000000000000_" + secret[len(secret)-64:],
			"Trailing":        secret + "0",
		} {
			t.Run(name, func(t *testing.T) {
				s := s.on(t)
				expect(t, s.req("GET", "/whoami", key, nil), 401)
			})
		}
		expect(t, s.req("GET", "/whoami", secret, nil), 200)
	})
}

// TestAPIKeyRevokedOnAnotherProcess: a second server on the same database
// stops accepting a key revoked through the first within its cache TTL.
func TestAPIKeyRevokedOnAnotherProcess(t *testing.T) {
	// Several servers share one MySQL database; a second server on one
	// SQLite file is refused (TestSecondServerOnSQLiteRefused).
	for _, d := range []string{"mysql"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			const ttl = 300 * time.Millisecond
			setTTL := func(c *app.Config) { c.CacheTTL = ttl }
			a := start(t, d, setTTL)
			b := startWith(t, serverOpts{peerOf: a, mutate: setTTL})
			tok := a.user("bea", "READ")
			key, id := a.newKey(tok, "bea", "ci", "READ")
			expect(t, b.req("GET", "/whoami", key, nil), 200) // b caches the key
			expect(t, a.req("DELETE", "/users/bea/keys/"+id, tok, nil), 200)
			expect(t, a.req("GET", "/whoami", key, nil), 401) // at once where revoked
			time.Sleep(ttl + 100*time.Millisecond)
			expect(t, b.req("GET", "/whoami", key, nil), 401)
		})
	}
}

// wrongSecret returns key with its last hex digit changed.
func wrongSecret(key string) string {
	last := byte('0')
	if key[len(key)-1] == '0' {
		last = '1'
	}
	return key[:len(key)-1] + string(last)
}

// rawDB opens the server's database directly, to look at what is stored.
func rawDB(t *testing.T, s *server) *sql.DB {
	t.Helper()
	driver, dsn, _ := strings.Cut(s.Cfg.Database, ":")
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, s *server, q string) int {
	t.Helper()
	var n int
	if err := rawDB(t, s).QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAPIKeyLogged: the access log names the key a request used (an audit
// trail), and never its secret, in either log format.
func TestAPIKeyLogged(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			logs := &obLockedBuffer{}
			s := startWith(t, serverOpts{logOut: logs, logJSON: format == "json", logLevel: slog.LevelInfo})
			tok := s.user("lou", "READ")
			secret, id := s.newKey(tok, "lou", "ci", "READ")
			expect(t, s.req("GET", "/whoami", secret, nil), 200)
			expect(t, s.req("GET", "/whoami", wrongSecret(secret), nil), 401)
			out := logs.String()
			if !strings.Contains(out, "api_key") || !strings.Contains(out, id) {
				t.Errorf("no log line names the key %s:\n%s", id, out)
			}
			if rand := secret[len(secret)-64:]; strings.Contains(out, rand) || strings.Contains(out, wrongSecret(secret)[len(secret)-64:]) {
				t.Error("the log contains a key's secret")
			}
		})
	}
}
