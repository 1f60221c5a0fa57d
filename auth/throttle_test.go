package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestThrottle(max int, window time.Duration) (*Throttle, *fakeClock) {
	t := NewThrottle(max, window)
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	t.now = c.now
	return t, c
}

func fail(t *testing.T, th *Throttle, keys ...string) {
	t.Helper()
	done, err := th.Begin(keys...)
	if err != nil {
		t.Fatalf("Begin(%v) refused early: %v", keys, err)
	}
	done(true)
}

func TestThrottleBlocksAfterMaxFailuresUntilWindowEnds(t *testing.T) {
	th, clock := newTestThrottle(3, time.Minute)
	for i := 0; i < 3; i++ {
		fail(t, th, "user:a", "addr:1.2.3.4")
		clock.add(time.Second)
	}
	_, err := th.Begin("user:a", "addr:9.9.9.9")
	var te *ThrottledError
	if !errors.As(err, &te) || !domain.IsKind(err, domain.TooManyRequests) {
		t.Fatalf("4th attempt: %v, want a TooManyRequests ThrottledError", err)
	}
	// The window started at the first failure, 3s ago.
	if s := te.RetryAfterSeconds(); s != 57 {
		t.Errorf("Retry-After %d, want 57", s)
	}
	// The address is blocked for other usernames too.
	if _, err := th.Begin("user:b", "addr:1.2.3.4"); err == nil {
		t.Error("a blocked address was let through for another username")
	}
	// Other keys are not affected.
	if done, err := th.Begin("user:b", "addr:5.6.7.8"); err != nil {
		t.Errorf("unrelated keys refused: %v", err)
	} else {
		done(false)
	}
	if th.Refused() != 2 {
		t.Errorf("Refused() = %d, want 2", th.Refused())
	}
	clock.add(57 * time.Second)
	done, err := th.Begin("user:a", "addr:1.2.3.4")
	if err != nil {
		t.Fatalf("after the window: %v", err)
	}
	done(true)
}

func TestThrottleSuccessDoesNotCountAndForgetClears(t *testing.T) {
	th, _ := newTestThrottle(2, time.Minute)
	fail(t, th, "user:a")
	for i := 0; i < 10; i++ {
		done, err := th.Begin("user:a")
		if err != nil {
			t.Fatalf("successful attempt %d refused: %v", i, err)
		}
		done(false)
	}
	th.Forget("user:a")
	fail(t, th, "user:a")
	fail(t, th, "user:a")
	if _, err := th.Begin("user:a"); err == nil {
		t.Fatal("not blocked after 2 failures")
	}
}

// A burst of concurrent guesses gets no more than max attempts through.
func TestThrottleCountsInflightAttempts(t *testing.T) {
	th, _ := newTestThrottle(5, time.Minute)
	var dones []func(bool)
	refused := 0
	for i := 0; i < 50; i++ {
		done, err := th.Begin("user:victim")
		if err != nil {
			var te *ThrottledError
			if !errors.As(err, &te) || te.RetryAfterSeconds() != 1 {
				t.Fatalf("in-flight refusal: %v", err)
			}
			refused++
			continue
		}
		dones = append(dones, done)
	}
	if len(dones) != 5 || refused != 45 {
		t.Fatalf("%d attempts let through and %d refused, want 5 and 45", len(dones), refused)
	}
	for _, d := range dones {
		d(true)
		d(true) // a second call is ignored
	}
	th.mu.Lock()
	a := th.keys["user:victim"]
	th.mu.Unlock()
	if a.failures != 5 || a.inflight != 0 {
		t.Fatalf("failures %d inflight %d, want 5 and 0", a.failures, a.inflight)
	}
}

func TestThrottleOffAndNil(t *testing.T) {
	var nilT *Throttle
	for _, th := range []*Throttle{NewThrottle(0, time.Minute), nilT} {
		for i := 0; i < 100; i++ {
			done, err := th.Begin("user:a")
			if err != nil {
				t.Fatal(err)
			}
			done(true)
		}
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	th, clock := newTestThrottle(3, time.Hour)
	th.maxKeys = 1000
	// One key blocked, then a flood of names.
	for i := 0; i < 3; i++ {
		fail(t, th, "user:victim")
	}
	for i := 0; i < 10_000; i++ {
		fail(t, th, fmt.Sprintf("user:n%d", i))
		clock.add(time.Millisecond)
	}
	if n := len(th.keys); n > 1000 {
		t.Fatalf("%d keys kept, want at most 1000", n)
	}
	if _, err := th.Begin("user:victim"); err == nil {
		t.Fatal("the blocked key was forgotten while pruning")
	}
}

func TestUserAndAddrKeys(t *testing.T) {
	long := string(make([]byte, 10_000))
	if k := UserKey(long); len(k) > 64 {
		t.Errorf("long username key is %d bytes", len(k))
	}
	if UserKey("Alice") == UserKey("alice") {
		t.Error("usernames are case-sensitive; keys must be too")
	}
	a := AddrKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6"))
	b := AddrKey(netip.MustParseAddr("2001:db8:1:2:ffff::1"))
	if a != b || a != "addr:2001:db8:1:2::/64" {
		t.Errorf("IPv6 keys %q %q, want one /64", a, b)
	}
	if k := AddrKey(netip.MustParseAddr("::ffff:10.0.0.1")); k != "addr:10.0.0.1" {
		t.Errorf("mapped IPv4 key %q", k)
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.5:4000", nil, "203.0.113.5"},
		// An untrusted peer's X-Forwarded-For is ignored.
		{"203.0.113.5:4000", []string{"1.1.1.1"}, "203.0.113.5"},
		// A trusted proxy: the right-most untrusted hop.
		{"10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"10.1.2.3:4000", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"[::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		// Garbage stops the walk at the last trusted hop.
		{"10.1.2.3:4000", []string{"1.1.1.1, bogus"}, "10.1.2.3"},
		// Only trusted hops: the left-most one.
		{"10.1.2.3:4000", []string{"10.0.0.9"}, "10.0.0.9"},
		{"10.1.2.3:4000", nil, "10.1.2.3"},
		{"[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientAddr(r, trusted); got.String() != c.want {
			t.Errorf("ClientAddr(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "@"
	if ClientAddr(r, trusted).IsValid() {
		t.Error("an unusable RemoteAddr gave an address")
	}
}
