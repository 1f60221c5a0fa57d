package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// Throttle limits failed sign-ins. Each key (a username, a client address)
// may fail max times within a window that starts at its first failure;
// further attempts are refused until the window ends. Attempts still being
// checked count as failures while they run, so a burst of concurrent
// guesses cannot slip past the limit.
//
// The counts live in this process's memory: several server processes
// behind one load balancer each keep their own, so the effective limit is
// max times the number of processes, and a restart forgets them. The
// number of keys kept is bounded; when full, keys that are not blocked are
// forgotten first.
type Throttle struct {
	max     int
	window  time.Duration
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	keys      map[string]*attempts
	lastPrune time.Time

	refused atomic.Int64
}

type attempts struct {
	start    time.Time // first failure of the current window
	failures int
	inflight int
}

// DefaultThrottleKeys bounds the memory a Throttle uses: about 100 bytes a key.
const DefaultThrottleKeys = 200_000

// NewThrottle allows max failures per key within window. max <= 0 turns
// throttling off.
func NewThrottle(max int, window time.Duration) *Throttle {
	return &Throttle{max: max, window: window, now: time.Now, maxKeys: DefaultThrottleKeys, keys: map[string]*attempts{}}
}

// ThrottledError is the error for a refused attempt: TooManyRequests, with
// the seconds to wait.
type ThrottledError struct {
	wait time.Duration
	err  error
}

func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap returns the *domain.Error (kind TooManyRequests).
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfterSeconds is the wait, rounded up, at least 1.
func (e *ThrottledError) RetryAfterSeconds() int {
	s := int(math.Ceil(e.wait.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// Refused counts attempts refused so far, for metrics.
func (t *Throttle) Refused() int64 {
	if t == nil {
		return 0
	}
	return t.refused.Load()
}

// Begin starts an attempt on behalf of every key. It is refused with a
// *ThrottledError when any key has used up its failures; otherwise the
// caller must call done exactly once, with whether the attempt failed.
func (t *Throttle) Begin(keys ...string) (done func(failed bool), err error) {
	if t == nil || t.max <= 0 {
		return func(bool) {}, nil
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		a := t.keys[k]
		if a == nil {
			continue
		}
		if a.failures > 0 && now.Sub(a.start) >= t.window {
			a.failures, a.start = 0, time.Time{}
		}
		switch {
		case a.failures >= t.max:
			wait = max(wait, a.start.Add(t.window).Sub(now))
		case a.failures+a.inflight >= t.max:
			// Attempts still running could use up the rest: wait for them.
			wait = max(wait, time.Second)
		}
	}
	if wait > 0 {
		t.refused.Add(1)
		return nil, &ThrottledError{wait: wait, err: domain.Errorf(domain.TooManyRequests,
			"Too many failed sign-in attempts; try again in %d seconds.", int(math.Ceil(wait.Seconds())))}
	}
	t.pruneLocked(now)
	held := make([]*attempts, 0, len(keys))
	for _, k := range keys {
		a := t.keys[k]
		if a == nil {
			a = &attempts{}
			t.keys[k] = a
		}
		a.inflight++
		held = append(held, a)
	}
	var once sync.Once
	return func(failed bool) {
		once.Do(func() {
			now := t.now()
			t.mu.Lock()
			defer t.mu.Unlock()
			for _, a := range held {
				a.inflight--
				if !failed {
					continue
				}
				if a.failures == 0 || now.Sub(a.start) >= t.window {
					a.failures, a.start = 0, now
				}
				a.failures++
			}
		})
	}, nil
}

// Forget clears a key's failures, e.g. a username's after it signed in.
func (t *Throttle) Forget(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.keys[key]; a != nil {
		a.failures, a.start = 0, time.Time{}
	}
}

// pruneLocked drops keys whose window is over, at most once a minute or
// whenever the map is full; when still full, it forgets keys that are not
// blocked, in map (random) order, until a tenth of the room is free.
func (t *Throttle) pruneLocked(now time.Time) {
	full := len(t.keys) >= t.maxKeys
	if !full && now.Sub(t.lastPrune) < time.Minute {
		return
	}
	t.lastPrune = now
	for k, a := range t.keys {
		if a.inflight == 0 && (a.failures == 0 || now.Sub(a.start) >= t.window) {
			delete(t.keys, k)
		}
	}
	for k, a := range t.keys {
		if len(t.keys) < t.maxKeys-t.maxKeys/10 {
			break
		}
		if a.inflight == 0 && a.failures < t.max {
			delete(t.keys, k)
		}
	}
}

// UserKey is the throttle key of a username (long names are hashed, so a
// key's size is bounded).
func UserKey(username string) string {
	if len(username) > 64 {
		sum := sha256.Sum256([]byte(username))
		return "user#" + hex.EncodeToString(sum[:16])
	}
	return "user:" + username
}

// AddrKey is the throttle key of a client address: the address itself for
// IPv4, its /64 network for IPv6 (one subscriber's usual allocation).
func AddrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "addr:" + p.String()
	}
	return "addr:" + a.String()
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
