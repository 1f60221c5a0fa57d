package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
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

// memLogins is a LoginStore in memory, for the throttle's rules; the
// database's own implementation is tested in db and tests/.
type memLogins struct {
	mu       sync.Mutex
	tats     map[string]int64
	familiar map[string]time.Time
}

func (m *memLogins) UpdateLoginBuckets(_ context.Context, keys []string, fn func([]int64) []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := make([]int64, len(keys))
	for i, k := range keys {
		in[i] = m.tats[k]
	}
	if out := fn(in); out != nil {
		for i, k := range keys {
			m.tats[k] = out[i]
		}
	}
	return nil
}

func (m *memLogins) LastLogin(_ context.Context, user, addr string) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.familiar[user+"|"+addr]
	return at, ok, nil
}

func (m *memLogins) RememberLogin(_ context.Context, user, addr string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.familiar[user+"|"+addr] = at
	return nil
}

func newTestThrottle(max int, window time.Duration) (*Throttle, *fakeClock) {
	t := NewThrottle(&memLogins{tats: map[string]int64{}, familiar: map[string]time.Time{}}, max, window)
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	t.now = c.now
	return t, c
}

var (
	addrA = netip.MustParseAddr("198.51.100.1")
	addrB = netip.MustParseAddr("198.51.100.2")
)

func try(th *Throttle, user string, addr netip.Addr) (*Attempt, error) {
	return th.Begin(context.Background(), user, addr)
}

func failN(t *testing.T, th *Throttle, n int, user string, addr netip.Addr) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := try(th, user, addr); err != nil {
			t.Fatalf("failure %d of %s from %v refused early: %v", i+1, user, addr, err)
		}
	}
}

func refused(t *testing.T, err error) *ThrottledError {
	t.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) || !domain.IsKind(err, domain.TooManyRequests) {
		t.Fatalf("got %v, want a TooManyRequests ThrottledError", err)
	}
	return te
}

func TestThrottleBudgetRefillsAndRetryAfterIsTruthful(t *testing.T) {
	th, clock := newTestThrottle(3, time.Minute) // one attempt back every 20 s
	failN(t, th, 3, "alice", addrA)
	clock.add(5 * time.Second)
	te := refused(t, second(try(th, "alice", addrA)))
	if got, want := te.RetryAfterSeconds(), 15; got != want {
		t.Fatalf("Retry-After %d, want %d", got, want)
	}
	clock.add(time.Duration(te.RetryAfterSeconds())*time.Second - time.Millisecond)
	refused(t, second(try(th, "alice", addrA)))
	clock.add(time.Millisecond)
	failN(t, th, 1, "alice", addrA) // exactly then, one more
	refused(t, second(try(th, "alice", addrA)))
	clock.add(time.Minute) // the whole budget is back
	failN(t, th, 3, "alice", addrA)
	if th.Refused() != 3 {
		t.Errorf("Refused() = %d, want 3", th.Refused())
	}
}

func TestThrottleFamiliarAddressIsNotLockedOut(t *testing.T) {
	th, _ := newTestThrottle(3, time.Minute)
	a, err := try(th, "alice", addrB)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(context.Background()); err != nil {
		t.Fatal(err)
	}
	failN(t, th, 3, "alice", addrA)
	refused(t, second(try(th, "alice", addrA)))
	// The username's budget is spent from elsewhere: unfamiliar places
	// are refused, the familiar one is not.
	refused(t, second(try(th, "alice", netip.MustParseAddr("203.0.113.7"))))
	if _, err := try(th, "alice", addrB); err != nil {
		t.Fatalf("alice from her familiar address: %v", err)
	}
}

func TestThrottleFamiliarityExpires(t *testing.T) {
	th, clock := newTestThrottle(3, time.Minute)
	a, err := try(th, "alice", addrB)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.add(FamiliarFor)
	failN(t, th, 3, "alice", addrA) // spends her username's budget
	refused(t, second(try(th, "alice", addrB)))
}

func TestThrottleTyposDoNotBlockOthersAtTheAddress(t *testing.T) {
	th, _ := newTestThrottle(3, time.Minute)
	for i := 0; i < AddrFactor*3; i++ {
		failN(t, th, 1, fmt.Sprint("name", i), addrA)
	}
	// The address's budget for unfamiliar names is spent...
	refused(t, second(try(th, "newcomer", addrA)))
	// ...but it stood 30 failures, ten times a user's, before that.
}

func TestThrottleSuccessRefundsAndClearsThePair(t *testing.T) {
	th, _ := newTestThrottle(3, time.Minute)
	failN(t, th, 2, "bob", addrA)
	a, err := try(th, "bob", addrA)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Succeeded(context.Background()); err != nil {
		t.Fatal(err)
	}
	failN(t, th, 3, "bob", addrA) // the pair's budget is whole again
	refused(t, second(try(th, "bob", addrA)))
}

func TestThrottleOffAndNil(t *testing.T) {
	var th *Throttle
	a, err := th.Begin(context.Background(), "x", addrA)
	if err != nil || a.Succeeded(context.Background()) != nil || a.Refund(context.Background()) != nil {
		t.Fatal("nil throttle")
	}
	off := NewThrottle(nil, 0, time.Minute)
	for i := 0; i < 100; i++ {
		if _, err := off.Begin(context.Background(), "x", addrA); err != nil {
			t.Fatal("max 0 throttled")
		}
	}
}

func TestAddrKey(t *testing.T) {
	a := AddrKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6"))
	b := AddrKey(netip.MustParseAddr("2001:db8:1:2:ffff::1"))
	if a != b {
		t.Errorf("one /64: %q and %q", a, b)
	}
	if k := AddrKey(netip.MustParseAddr("::ffff:10.0.0.1")); k != "10.0.0.1" {
		t.Errorf("mapped v4: %q", k)
	}
	if k := userPart(strings.Repeat("x", 1000)); len(k) > 64 {
		t.Errorf("long name key is %d bytes", len(k))
	}
}

func second[T any](_ T, err error) error { return err }

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
