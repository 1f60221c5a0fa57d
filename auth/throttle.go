package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// LoginStore keeps the throttle's state where every server process sees
// it (the database).
type LoginStore interface {
	// UpdateLoginBuckets reads the buckets named by keys (0 for a new one),
	// lets fn decide, and stores what it returns (nil: nothing), atomically.
	UpdateLoginBuckets(ctx context.Context, keys []string, fn func(tats []int64) []int64) error
	// LastLogin returns when username last signed in from addr, if ever.
	LastLogin(ctx context.Context, username, addr string) (time.Time, bool, error)
	// RememberLogin records a sign-in of username from addr.
	RememberLogin(ctx context.Context, username, addr string, at time.Time) error
}

// Throttle limits failed sign-ins (and wrong old passwords) in the manner of
// the big identity providers' "smart lockout": guessing is slowed without
// letting anyone lock others out. Failures are counted in budgets, each a
// leaky bucket that holds a number of failures and refills steadily (one
// failure every window/capacity), so a used-up budget allows one more
// attempt soon after rather than locking for a fixed time:
//
//   - per (username, client address), capacity max: always;
//   - per username, capacity max: only from addresses where that user has
//     not signed in within FamiliarFor, so guesses from elsewhere never
//     lock a user out of the places they use;
//   - per client address, capacity AddrFactor*max: only for users not
//     familiar at it, so one client's typos (or a whole NAT's) never block
//     accounts that sign in there, while spraying many names from one
//     address is still slowed.
//
// An attempt is charged to its budgets before the password is checked and
// refunded when it succeeds, in one transaction of the database shared by
// every server process, so parallel guesses, on one process or many, cannot
// slip past a limit. A refused attempt costs no bcrypt work.
type Throttle struct {
	store  LoginStore
	max    int
	window time.Duration
	now    func() time.Time

	refused atomic.Int64
}

// FamiliarFor is how long a successful sign-in makes its address familiar
// for its user.
const FamiliarFor = 30 * 24 * time.Hour

// AddrFactor is how many times max failures one client address may spend
// on usernames not familiar at it.
const AddrFactor = 10

// NewThrottle allows max failures per budget, each refilling fully within
// window. max <= 0 turns throttling off (store may then be nil).
func NewThrottle(store LoginStore, max int, window time.Duration) *Throttle {
	return &Throttle{store: store, max: max, window: window, now: time.Now}
}

// ThrottledError is the error for a refused attempt: TooManyRequests, with
// the time until one more attempt is allowed.
type ThrottledError struct {
	wait time.Duration
	err  error
}

func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap returns the *domain.Error (kind TooManyRequests).
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfterSeconds is the wait, rounded up, at least 1: after that long,
// one more attempt is allowed (unless others spend it first).
func (e *ThrottledError) RetryAfterSeconds() int {
	s := int(math.Ceil(e.wait.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// Refused counts attempts refused by this process so far, for metrics.
func (t *Throttle) Refused() int64 {
	if t == nil {
		return 0
	}
	return t.refused.Load()
}

// bucket is one budget an attempt is charged to.
type bucket struct {
	key      string
	interval int64 // microseconds for one failure to leak out
	capacity int64 // failures it holds
	pair     bool  // the (username, address) budget, emptied by a success
}

// Attempt is a sign-in attempt that was allowed and charged as a failure.
// The caller settles it exactly once: Succeeded, or Refund when it ended
// without a verdict; a failed attempt needs nothing more.
type Attempt struct {
	t        *Throttle
	username string
	addr     string // address key, "" when unknown
	buckets  []bucket
	// remember: a success should record the address as familiar (it is
	// not, or was last recorded a while ago: one write a day is plenty).
	remember bool
}

// rememberEvery is how stale a familiar address's record may get before a
// sign-in from it writes it again.
const rememberEvery = 24 * time.Hour

// Begin checks and charges an attempt to sign in as username from addr
// (the zero Addr when unknown). Past a limit it returns a *ThrottledError
// and charges nothing.
func (t *Throttle) Begin(ctx context.Context, username string, addr netip.Addr) (*Attempt, error) {
	if t == nil || t.max <= 0 {
		return &Attempt{}, nil
	}
	now := t.now()
	a := &Attempt{t: t, username: username}
	if addr.IsValid() {
		a.addr = AddrKey(addr)
	}
	familiar := false
	if a.addr != "" {
		last, ok, err := t.store.LastLogin(ctx, username, a.addr)
		if err != nil {
			return nil, err
		}
		familiar = ok && now.Sub(last) < FamiliarFor
		a.remember = !ok || now.Sub(last) >= rememberEvery
	}
	user := userPart(username)
	perKey := max(t.window.Microseconds()/int64(t.max), AddrFactor)
	if a.addr != "" {
		a.buckets = append(a.buckets, bucket{key: "ua:" + user + "|" + a.addr, interval: perKey, capacity: int64(t.max), pair: true})
	}
	if !familiar {
		a.buckets = append(a.buckets, bucket{key: "u:" + user, interval: perKey, capacity: int64(t.max)})
		if a.addr != "" {
			a.buckets = append(a.buckets, bucket{key: "a:" + a.addr, interval: perKey / AddrFactor, capacity: int64(AddrFactor * t.max)})
		}
	}
	nowUS := now.UnixMicro()
	var wait int64
	err := t.store.UpdateLoginBuckets(ctx, a.keys(), func(tats []int64) []int64 {
		wait = 0
		out := make([]int64, len(tats))
		for i, b := range a.buckets {
			// GCRA: tat is when the bucket is empty again; it holds
			// (tat-now)/interval failures. One more fits if the bucket then
			// holds at most capacity.
			tat := max(tats[i], nowUS) + b.interval
			if over := tat - nowUS - b.capacity*b.interval; over > 0 {
				wait = max(wait, over)
			}
			out[i] = tat
		}
		if wait > 0 {
			return nil
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		t.refused.Add(1)
		d := time.Duration(wait) * time.Microsecond
		return nil, &ThrottledError{wait: d, err: domain.Errorf(domain.TooManyRequests,
			"Too many failed sign-in attempts; try again in %d seconds.", int(math.Ceil(d.Seconds())))}
	}
	return a, nil
}

func (a *Attempt) keys() []string {
	ks := make([]string, len(a.buckets))
	for i, b := range a.buckets {
		ks[i] = b.key
	}
	return ks
}

// Succeeded settles an attempt whose password was right: its charge is
// refunded, the (username, address) budget emptied, and the address
// remembered as familiar for username.
func (a *Attempt) Succeeded(ctx context.Context) error {
	if a.t == nil {
		return nil
	}
	if err := a.refund(ctx, true); err != nil {
		return err
	}
	if !a.remember {
		return nil
	}
	return a.t.store.RememberLogin(ctx, a.username, a.addr, a.t.now())
}

// Refund settles an attempt that ended without a verdict (an error before
// the password was judged): its charge is given back.
func (a *Attempt) Refund(ctx context.Context) error {
	if a.t == nil {
		return nil
	}
	return a.refund(ctx, false)
}

func (a *Attempt) refund(ctx context.Context, success bool) error {
	return a.t.store.UpdateLoginBuckets(ctx, a.keys(), func(tats []int64) []int64 {
		out := make([]int64, len(tats))
		for i, b := range a.buckets {
			out[i] = tats[i] - b.interval
			if success && b.pair {
				out[i] = 0
			}
		}
		return out
	})
}

// userPart is a username as it appears in a throttle key: long names are
// hashed, so a key's size is bounded (they cannot sign in anyway, but
// their guesses must still be counted).
func userPart(username string) string {
	if len(username) > 64 {
		sum := sha256.Sum256([]byte(username))
		return "#" + hex.EncodeToString(sum[:16])
	}
	return username
}

// AddrKey is the throttle key of a client address: the address itself for
// IPv4, its /64 network for IPv6 (one subscriber's usual allocation).
func AddrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ClientAddr is the address of the client that sent r: the connection's
// peer, or, when the peer is one of the trusted proxies, the right-most
// address in X-Forwarded-For that is not itself a trusted proxy. A
// forwarded address that does not parse ends the walk (the last trusted
// hop is used), so a client can never choose its own address unless every
// hop before it is trusted. The zero Addr when RemoteAddr is unusable.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr := parseAddr(r.RemoteAddr)
	if !addr.IsValid() || !contains(trusted, addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	var list []string
	for _, h := range hops {
		list = append(list, strings.Split(h, ",")...)
	}
	for i := len(list) - 1; i >= 0; i-- {
		a := parseAddr(strings.TrimSpace(list[i]))
		if !a.IsValid() {
			return addr
		}
		addr = a
		if !contains(trusted, a) {
			return a
		}
	}
	return addr
}

// parseAddr reads "ip", "ip:port" or "[ip]:port".
func parseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
