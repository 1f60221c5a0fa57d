package db

import (
	"sync"
	"time"
)

// DefaultCacheTTL is how long a Store keeps the rows nearly every request
// reads (a token's holder, a share, the anonymous permissions) without
// asking the database again. Within the process a change is seen at once:
// the Store forgets what a write changes as soon as the write commits.
// Another process writing the same database (a second `sachet serve` on
// one MySQL, or the `sachet` CLI) is seen within the TTL.
const DefaultCacheTTL = time.Second

// maxCached bounds each cache, so memory stays flat however many users and
// shares there are: a full cache starts over.
const maxCached = 10_000

// readCache holds rows read from the database for a while. A read that
// began before a write and ends after it must not store what it read:
// begin returns a generation that every forget advances, and put stores
// only if it has not moved. The check and the store are one step under mu,
// as are a writer's advance and delete, so no interleaving slips between.
type readCache[K comparable, V any] struct {
	mu  sync.Mutex
	gen uint64
	m   map[K]cached[V]
}

type cached[V any] struct {
	v     V
	until time.Time
}

func newReadCache[K comparable, V any]() *readCache[K, V] {
	return &readCache[K, V]{m: map[K]cached[V]{}}
}

// get returns the value stored for k if it is younger than its TTL.
func (c *readCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// begin is called before reading the database for a value to put.
func (c *readCache[K, V]) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores v for k until `until`, unless something was forgotten since
// gen was taken.
func (c *readCache[K, V]) put(k K, v V, gen uint64, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[k] = cached[V]{v: v, until: until}
}

// forget drops k, and any value being read meanwhile.
func (c *readCache[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

// forgetAll drops everything, and any value being read meanwhile.
func (c *readCache[K, V]) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// caches are the Store's read caches.
type caches struct {
	ttl      time.Duration // 0: nothing is cached
	holders  *readCache[holderKey, holderRow]
	shares   *readCache[string, shareRow]
	defPerms *readCache[struct{}, int64]
	keys     *readCache[string, keyHolderRow] // by key id
	links    *readCache[string, linkRow]      // by token hash
	// touched is not a read cache but the API keys whose last use this
	// process recorded in the last minute (see TouchAPIKey).
	touched *readCache[string, struct{}]
}

type holderKey struct{ username, jti string }

func newCaches() caches {
	return caches{
		ttl:      DefaultCacheTTL,
		holders:  newReadCache[holderKey, holderRow](),
		shares:   newReadCache[string, shareRow](),
		defPerms: newReadCache[struct{}, int64](),
		keys:     newReadCache[string, keyHolderRow](),
		links:    newReadCache[string, linkRow](),
		touched:  newReadCache[string, struct{}](),
	}
}

// SetCacheTTL sets how long reads are cached (DefaultCacheTTL unless set);
// 0 turns caching off, so every read asks the database. Call it before the
// Store is shared.
func (s *Store) SetCacheTTL(d time.Duration) { s.cache.ttl = max(0, d) }

// cachedRead returns c's value for k, or reads it with load and keeps it
// for the Store's TTL. Errors are never kept.
func cachedRead[K comparable, V any](s *Store, c *readCache[K, V], k K, load func() (V, error)) (V, error) {
	if s.cache.ttl <= 0 {
		return load()
	}
	now := time.Now()
	if v, ok := c.get(k, now); ok {
		return v, nil
	}
	gen := c.begin()
	v, err := load()
	if err == nil {
		c.put(k, v, gen, now.Add(s.cache.ttl))
	}
	return v, err
}
