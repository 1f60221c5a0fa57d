package tests

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Sessions that can be ended (API.md §Authentication): a password change
// ends the caller's other tokens, and DELETE /users/{username}/tokens ends
// all of a user's tokens, extended ones included.

// extend renews tok and returns the new token.
func (s *server) extend(tok string) string {
	s.t.Helper()
	r := expect(s.t, s.req("POST", "/users/extend", tok, nil), 200)
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		s.t.Errorf("extend: Cache-Control %q, want no-store", got)
	}
	nt, _ := r.JSON(s.t)["auth_token"].(string)
	return nt
}

// wantTokens fails unless each token's /whoami answers the wanted status.
func wantTokens(t *testing.T, s *server, want int, toks ...string) {
	t.Helper()
	for i, tok := range toks {
		if r := s.req("GET", "/whoami", tok, nil); r.Status != want {
			t.Errorf("token %d: /whoami %d, want %d", i, r.Status, want)
		}
	}
}

func TestSessionsPasswordChangeEndsOtherTokens(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		caller := s.user("quin")
		other := s.login("quin", "quin-pw")
		stolen := s.extend(other) // a thief's renewal of another token
		mine := s.extend(caller)
		expect(t, s.req("POST", "/users/password", caller, map[string]string{"old": "quin-pw", "new": "fresh-pw"}), 200)
		wantTokens(t, s, 401, other, stolen, mine)
		wantTokens(t, s, 200, caller)
		// The caller's token renews into a token that works, and can change
		// the password again.
		renewed := s.extend(caller)
		wantTokens(t, s, 200, renewed)
		expect(t, s.req("POST", "/users/password", caller, map[string]string{"old": "fresh-pw", "new": "third-pw"}), 200)
		wantTokens(t, s, 200, caller)
		wantTokens(t, s, 401, renewed)
		// A sign-in right after (within the same second) is unaffected.
		wantTokens(t, s, 200, s.login("quin", "third-pw"))
	})
}

func TestSessionsEndAll(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		t.Run("Own200", func(t *testing.T) {
			s := s.on(t)
			a := s.user("rory")
			b := s.login("rory", "rory-pw")
			ext := s.extend(b)
			wantEnvelope(t, expect(t, s.req("DELETE", "/users/rory/tokens", a, nil), 200), "success", "Sessions ended.")
			wantTokens(t, s, 401, a, b, ext)
			expect(t, s.req("POST", "/users/extend", ext, nil), 401)
			// Signing in again, at once, gives a token that works.
			fresh := s.login("rory", "rory-pw")
			wantTokens(t, s, 200, fresh, s.extend(fresh))
		})
		t.Run("ByAdmin200", func(t *testing.T) {
			s := s.on(t)
			a := s.user("sid")
			ext := s.extend(a)
			expect(t, s.req("DELETE", "/users/sid/tokens", s.admin, nil), 200)
			wantTokens(t, s, 401, a, ext)
			wantTokens(t, s, 200, s.admin)
		})
		t.Run("AdminsOwn200", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("POST", "/users", s.admin, map[string]any{"username": "boss", "password": "boss-pw", "permissions": []string{"ADMIN"}}), 201)
			boss := s.login("boss", "boss-pw")
			expect(t, s.req("DELETE", "/users/boss/tokens", boss, nil), 200)
			wantTokens(t, s, 401, boss)
		})
		t.Run("OtherUser403", func(t *testing.T) {
			s := s.on(t)
			victim := s.user("tad")
			mallory := s.user("mal", "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "READ")
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/tad/tokens", mallory, nil), 403))
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/nobody/tokens", mallory, nil), 403))
			wantTokens(t, s, 200, victim, mallory)
		})
		t.Run("MissingUserAdmin403", func(t *testing.T) {
			s := s.on(t)
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/nobody/tokens", s.admin, nil), 403))
		})
		t.Run("Anonymous401", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("ADMIN")
			defer s.setAnon()
			tok := s.user("uma")
			wantFailMsg(t, expect(t, s.req("DELETE", "/users/uma/tokens", "", nil), 401))
			expect(t, s.req("DELETE", "/users/uma/tokens", "garbage", nil), 401)
			wantTokens(t, s, 200, tok)
		})
		t.Run("AdminPasswordResetKeepsTokens", func(t *testing.T) {
			// As the reference server: scripts rely on it.
			s := s.on(t)
			tok := s.user("val")
			expect(t, s.req("PATCH", "/users/val", s.admin, map[string]any{"password": "reset-pw"}), 200)
			wantTokens(t, s, 200, tok)
		})
	})
}

// TestSessionsEndAcrossProcesses: ending sessions on one process is seen by
// another process on the same database within its SACHET_CACHE_TTL (1 s by
// default), and a renewal the other process hands out meanwhile ends too.
func TestSessionsEndAcrossProcesses(t *testing.T) {
	// Several servers share one MySQL database; a second server on one
	// SQLite file is refused (TestSecondServerOnSQLiteRefused).
	for _, d := range []string{"mysql"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			a := start(t, d, nil)
			b := startWith(t, serverOpts{peerOf: a})
			if a.Cfg.CacheTTL != time.Second {
				t.Fatalf("default cache TTL %v, want the 1 s this test states", a.Cfg.CacheTTL)
			}
			tok := a.user("wes")
			wantTokens(t, a, 200, tok) // a caches the holder
			expect(t, b.req("DELETE", "/users/wes/tokens", b.admin, nil), 200)
			wantTokens(t, b, 401, tok) // at once on the process that did it
			// Before a's cache expires, a thief may still renew on a...
			renewed := ""
			if r := a.req("POST", "/users/extend", tok, nil); r.Status == 200 {
				renewed, _ = r.JSON(t)["auth_token"].(string)
			}
			time.Sleep(a.Cfg.CacheTTL + 100*time.Millisecond)
			// ...but once the bound has passed, both are dead everywhere.
			wantTokens(t, a, 401, tok)
			if renewed != "" {
				wantTokens(t, a, 401, renewed)
				wantTokens(t, b, 401, renewed)
			}
		})
	}
}

// TestTokenResponsesAreNotStored: login and extend answer with
// Cache-Control: no-store.
func TestTokenResponsesAreNotStored(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		r := expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "admin", "password": "admin-pw"}), 200)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("login: Cache-Control %q, want no-store", got)
		}
		s.extend(s.admin) // checks it too
	})
}

// TestOnlyCompactJWS: the same valid token in the JWS JSON serialisation
// is refused.
func TestOnlyCompactJWS(t *testing.T) {
	eachKeyedDB(t, func(t *testing.T, s *server) {
		parts := strings.Split(s.admin, ".")
		flattened, _ := json.Marshal(map[string]string{"protected": parts[0], "payload": parts[1], "signature": parts[2]})
		general, _ := json.Marshal(map[string]any{"payload": parts[1], "signatures": []map[string]string{{"protected": parts[0], "signature": parts[2]}}})
		for name, tok := range map[string]string{"flattened": string(flattened), "general": string(general)} {
			t.Run(name, func(t *testing.T) {
				wantFailMsg(t, expect(t, s.on(t).req("GET", "/whoami", tok, nil), 401))
			})
		}
		wantTokens(t, s, 200, s.admin)
	})
}
