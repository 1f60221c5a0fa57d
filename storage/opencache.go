package storage

import (
	"os"
	"sync"
	"time"
)

// openCache keeps recently opened blob files open for a short while, so
// that a burst of small range requests on one share costs a pread each
// instead of an open, a stat, seeks and a close (issue 14: those were
// most of the syscalls of a 4 KiB range).
//
// Keying by blob id alone is sound because a blob file is never rewritten:
// it is renamed into blobs/ under a fresh random id when complete (see
// tempFile.commit) and only ever removed. A removal through this FS drops
// the entry at once; one by another process (a shared data dir) is seen
// at the latest when the entry expires, after ttl: the same ≤ 1 s
// staleness the share-row cache already has. Handles are refcounted, so an
// entry dropped while a request reads it is closed when the last reader
// releases it. At most max files are held; past that, opens are not
// cached.
type openCache struct {
	mu  sync.Mutex
	m   map[string]*cachedFile
	max int
	ttl time.Duration
}

// cachedFile is one open blob file shared by concurrent readers.
type cachedFile struct {
	f    *os.File
	size int64
	refs int  // readers holding it, under openCache.mu
	dead bool // out of the map: close when refs drops to 0
}

const (
	openCacheMax = 64
	openCacheTTL = time.Second
)

func newOpenCache(max int, ttl time.Duration) *openCache {
	return &openCache{m: make(map[string]*cachedFile), max: max, ttl: ttl}
}

// SharedFile is a reader of a blob that may be shared with concurrent
// readers: ReadAt only (no file offset to share), and Close releases it.
type SharedFile struct {
	c    *openCache
	e    *cachedFile
	once sync.Once
}

// ReadAt reads from the blob at off (pread).
func (s *SharedFile) ReadAt(p []byte, off int64) (int, error) { return s.e.f.ReadAt(p, off) }

// Size is the blob's size when it was opened (blobs never change).
func (s *SharedFile) Size() int64 { return s.e.size }

// Close releases the handle; the file closes when no one holds it and it
// left the cache. Closing twice is harmless.
func (s *SharedFile) Close() error {
	var err error
	s.once.Do(func() { err = s.c.release(s.e) })
	return err
}

// acquire returns a shared handle on id, opening it with open when it is
// not cached (or its entry expired).
func (c *openCache) acquire(id string, open func() (*os.File, error)) (*SharedFile, error) {
	c.mu.Lock()
	if e, ok := c.m[id]; ok {
		e.refs++
		c.mu.Unlock()
		return &SharedFile{c: c, e: e}, nil
	}
	c.mu.Unlock()

	f, err := open()
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	e := &cachedFile{f: f, size: fi.Size(), refs: 1}

	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok {
		// Another request opened it meanwhile: use that one, drop ours.
		old.refs++
		f.Close()
		return &SharedFile{c: c, e: old}, nil
	}
	if len(c.m) >= c.max {
		e.dead = true // not cached: closed on release
		return &SharedFile{c: c, e: e}, nil
	}
	c.m[id] = e
	// The entry leaves after ttl whatever happens, so an idle blob deleted
	// by another process does not keep its disk space (or stale bytes).
	time.AfterFunc(c.ttl, func() { c.drop(id, e) })
	return &SharedFile{c: c, e: e}, nil
}

// drop takes e (if it is still id's entry) out of the map, and closes it
// unless a reader holds it.
func (c *openCache) drop(id string, e *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[id] == e {
		delete(c.m, id)
	}
	if !e.dead {
		e.dead = true
		if e.refs == 0 {
			e.f.Close()
		}
	}
}

// invalidate drops id's entry at once (its file was removed).
func (c *openCache) invalidate(id string) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		c.drop(id, e)
	}
}

// clear drops every entry.
func (c *openCache) clear() {
	c.mu.Lock()
	ids := make(map[string]*cachedFile, len(c.m))
	for id, e := range c.m {
		ids[id] = e
	}
	c.mu.Unlock()
	for id, e := range ids {
		c.drop(id, e)
	}
}

func (c *openCache) release(e *cachedFile) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.dead {
		return e.f.Close()
	}
	return nil
}

// len reports the number of cached entries (for tests).
func (c *openCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
