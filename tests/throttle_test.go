package tests

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// Sign-in throttling (API.md §Authentication): failures are counted per
// (username, address), per username only from addresses where the user has
// not signed in lately, and per address only for users not familiar there;
// budgets refill; the counts live in the database. Client addresses are
// simulated with X-Forwarded-For from the trusted loopback "proxy".

// throttled starts a server per database whose loopback peer is a trusted
// proxy, with the given budget, and runs fn against it.
func throttled(t *testing.T, maxFailures int, window time.Duration, fn func(t *testing.T, s *server)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, startWith(t, serverOpts{dialect: d, mutate: func(c *app.Config) {
				c.LoginMaxFailures = maxFailures
				c.LoginWindow = window
				c.TrustedProxies, _ = app.ParsePrefixes("127.0.0.1")
			}}))
		})
	}
}

// loginFrom signs in as user from the client address from.
func (s *server) loginFrom(user, pw, from string) reply {
	s.t.Helper()
	return s.req("POST", "/users/login", "", map[string]string{"username": user, "password": pw}, "X-Forwarded-For", from)
}

// retryAfter is a 429's Retry-After in seconds; it fails unless it is a
// positive integer.
func retryAfter(t testing.TB, r reply) int {
	t.Helper()
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
	}
	return ra
}

// TestThrottleTyposDoNotBlockOthersAtAddress: 40 failed logins for random
// names from one address (a NAT, a proxy, one sloppy script) leave other
// accounts at that address able to sign in.
func TestThrottleTyposDoNotBlockOthersAtAddress(t *testing.T) {
	throttled(t, 10, 15*time.Minute, func(t *testing.T, s *server) {
		adminNewUser(t, s, "bob")
		const nat = "203.0.113.9"
		for i := 0; i < 40; i++ {
			expect(t, s.loginFrom(fmt.Sprintf("random-%d-%d", i, time.Now().UnixNano()), "guess", nat), 401)
		}
		expect(t, s.loginFrom("bob", "bob-pw", nat), 200)
	})
}

// TestThrottleFamiliarAddressIsNotLockedOut: ten failures for alice from A
// lock alice out at A (and at addresses new to her), not at an address
// where she signed in before.
func TestThrottleFamiliarAddressIsNotLockedOut(t *testing.T) {
	throttled(t, 10, 15*time.Minute, func(t *testing.T, s *server) {
		adminNewUser(t, s, "alice")
		const home, attacker, elsewhere = "192.0.2.20", "198.51.100.66", "198.51.100.77"
		expect(t, s.loginFrom("alice", "alice-pw", home), 200)
		for i := 0; i < 10; i++ {
			expect(t, s.loginFrom("alice", "wrong", attacker), 401)
		}
		r := expect(t, s.loginFrom("alice", "alice-pw", attacker), 429)
		if ra := retryAfter(t, r); ra > 90 { // one attempt comes back every 15m/10
			t.Errorf("Retry-After %d, want at most 90", ra)
		}
		expect(t, s.loginFrom("alice", "alice-pw", home), 200)
		// Her username's budget for unfamiliar places is spent too.
		expect(t, s.loginFrom("alice", "alice-pw", elsewhere), 429)
		// Nobody else is affected at the attacker's address.
		adminNewUser(t, s, "carol")
		expect(t, s.loginFrom("carol", "carol-pw", attacker), 200)
	})
}

// TestThrottleRetryAfterTellsTheTruth: after waiting Retry-After seconds one
// more attempt is allowed, and the budget refills rather than locking for a
// fixed window.
func TestThrottleRetryAfterTellsTheTruth(t *testing.T) {
	// Two failures, one coming back every 5 s: ample time for the first
	// three requests to arrive before anything leaks out, even on a busy
	// machine.
	throttled(t, 2, 10*time.Second, func(t *testing.T, s *server) {
		const from = "198.51.100.5"
		expect(t, s.loginFrom("ghost", "x", from), 401)
		expect(t, s.loginFrom("ghost", "x", from), 401)
		ra := retryAfter(t, expect(t, s.loginFrom("ghost", "x", from), 429))
		if ra > 5 {
			t.Errorf("Retry-After %d, want at most the 5 s one attempt takes to come back", ra)
		}
		time.Sleep(time.Duration(ra) * time.Second)
		expect(t, s.loginFrom("ghost", "x", from), 401) // judged, not refused
		ra = retryAfter(t, expect(t, s.loginFrom("ghost", "x", from), 429))
		time.Sleep(time.Duration(ra) * time.Second)
		expect(t, s.loginFrom("ghost", "x", from), 401)
	})
}

// TestThrottleSharedByProcesses: two server processes on one database
// share the counts, so two processes do not double the budget.
func TestThrottleSharedByProcesses(t *testing.T) {
	// Several servers share one MySQL database; a second server on one
	// SQLite file is refused (TestSecondServerOnSQLiteRefused).
	for _, d := range []string{"mysql"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			cfg := func(c *app.Config) {
				c.LoginMaxFailures = 4
				c.LoginWindow = 15 * time.Minute
				c.TrustedProxies, _ = app.ParsePrefixes("127.0.0.1")
			}
			a := startWith(t, serverOpts{dialect: d, mutate: cfg})
			b := startWith(t, serverOpts{peerOf: a, mutate: cfg})
			adminNewUser(t, a, "dave")
			const from = "198.51.100.9"
			for _, s := range []*server{a, b, a, b} {
				expect(t, s.loginFrom("dave", "wrong", from), 401)
			}
			retryAfter(t, expect(t, b.loginFrom("dave", "dave-pw", from), 429))
			retryAfter(t, expect(t, a.loginFrom("dave", "dave-pw", from), 429))
			// dave's budget for addresses new to him is spent too, on both.
			expect(t, a.loginFrom("dave", "dave-pw", "192.0.2.50"), 429)
		})
	}
}

// TestThrottleWrongOldPassword: a wrong old password on /users/password
// counts as a failed sign-in, and past the limit the change is refused
// with 429 before the password is checked, as are sign-ins there.
func TestThrottleWrongOldPassword(t *testing.T) {
	throttled(t, 3, 15*time.Minute, func(t *testing.T, s *server) {
		const from = "198.51.100.30"
		adminNewUser(t, s, "pat")
		tok := s.loginFrom("pat", "pat-pw", "192.0.2.30").JSON(t)["auth_token"].(string)
		change := func(old string) reply {
			return s.req("POST", "/users/password", tok, map[string]string{"old": old, "new": "new-pw"}, "X-Forwarded-For", from)
		}
		for i := 0; i < 3; i++ {
			expect(t, change("guess"), 403)
		}
		retryAfter(t, expect(t, change("guess"), 429))
		retryAfter(t, expect(t, change("pat-pw"), 429)) // refused before bcrypt: even the right one
		retryAfter(t, expect(t, s.loginFrom("pat", "pat-pw", from), 429))
		expect(t, s.loginFrom("pat", "pat-pw", "192.0.2.30"), 200) // her familiar address
	})
}

// TestThrottleUntrustedForwardedFor: X-Forwarded-For from a peer that is
// not a trusted proxy is ignored, so a client can't rotate its address:
// all its guesses land on its own address's budget.
func TestThrottleUntrustedForwardedFor(t *testing.T) {
	t.Parallel()
	s := startWith(t, serverOpts{mutate: func(c *app.Config) {
		c.LoginMaxFailures = 3
		c.LoginWindow = time.Hour // nothing refills while the test runs
	}})
	adminNewUser(t, s, "zed")
	// The address's budget for names not familiar there: ten times three.
	for i := 0; i < 30; i++ {
		expect(t, s.req("POST", "/users/login", "", map[string]string{"username": fmt.Sprint("u", i), "password": "x"},
			"X-Forwarded-For", fmt.Sprint("198.51.100.", i)), 401)
	}
	retryAfter(t, expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "zed", "password": "zed-pw"},
		"X-Forwarded-For", "198.51.100.99"), 429))
	// admin signed in from here when the server started: not refused.
	expect(t, s.req("POST", "/users/login", "", map[string]string{"username": "admin", "password": "admin-pw"},
		"X-Forwarded-For", "198.51.100.98"), 200)
}
