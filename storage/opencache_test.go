package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// counted opens files under dir and remembers them, so a test can check
// which are closed.
type counted struct {
	dir   string
	mu    sync.Mutex
	files []*os.File
	opens atomic.Int64
}

func (o *counted) open(name string) func() (*os.File, error) {
	return func() (*os.File, error) {
		f, err := os.Open(filepath.Join(o.dir, name))
		if err != nil {
			return nil, err
		}
		o.opens.Add(1)
		o.mu.Lock()
		o.files = append(o.files, f)
		o.mu.Unlock()
		return f, nil
	}
}

func isClosed(f *os.File) bool {
	_, err := f.ReadAt(make([]byte, 1), 0)
	return errors.Is(err, os.ErrClosed)
}

func (o *counted) openCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, f := range o.files {
		if !isClosed(f) {
			n++
		}
	}
	return n
}

func writeFiles(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("content of "+n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readAll(t *testing.T, s *SharedFile) string {
	t.Helper()
	b := make([]byte, s.Size())
	if n, err := s.ReadAt(b, 0); n != len(b) {
		t.Fatalf("ReadAt: %d bytes, %v", n, err)
	}
	return string(b)
}

func TestOpenCacheSharesAndRefcounts(t *testing.T) {
	o := &counted{dir: writeFiles(t, "a")}
	c := newOpenCache(4, time.Hour)
	s1, err := c.acquire("a", o.open("a"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.acquire("a", o.open("a"))
	if err != nil {
		t.Fatal(err)
	}
	if o.opens.Load() != 1 || s1.e != s2.e {
		t.Fatalf("two acquires opened %d files, want 1 shared", o.opens.Load())
	}
	if got := readAll(t, s2); got != "content of a" {
		t.Fatalf("read %q", got)
	}
	s1.Close()
	s1.Close() // twice: harmless, must not release s2's reference
	c.invalidate("a")
	if got := readAll(t, s2); got != "content of a" { // still held: still open
		t.Fatalf("read after invalidate %q", got)
	}
	if o.openCount() != 1 {
		t.Fatal("the file was closed while a reader held it")
	}
	s2.Close()
	if o.openCount() != 0 {
		t.Fatal("the file stayed open after the last release of an invalidated entry")
	}
	if c.len() != 0 {
		t.Fatalf("%d entries after invalidate", c.len())
	}
	s3, err := c.acquire("a", o.open("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if o.opens.Load() != 2 {
		t.Fatalf("acquire after invalidate: %d opens, want 2 (a fresh open)", o.opens.Load())
	}
}

func TestOpenCacheExpiresAndCloses(t *testing.T) {
	o := &counted{dir: writeFiles(t, "a")}
	c := newOpenCache(4, 20*time.Millisecond)
	s, err := c.acquire("a", o.open("a"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if o.openCount() != 1 {
		t.Fatal("released entry closed before its time")
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.openCount() != 0 || c.len() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("an idle entry stayed open past its ttl")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s, err = c.acquire("a", o.open("a"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if o.opens.Load() != 2 {
		t.Fatalf("%d opens, want 2 after expiry", o.opens.Load())
	}
}

func TestOpenCacheBounded(t *testing.T) {
	o := &counted{dir: writeFiles(t, "a", "b", "c")}
	c := newOpenCache(2, time.Hour)
	var held []*SharedFile
	for _, n := range []string{"a", "b", "c"} {
		s, err := c.acquire(n, o.open(n))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, s); got != "content of "+n {
			t.Fatalf("%s: read %q", n, got)
		}
		held = append(held, s)
	}
	if c.len() != 2 {
		t.Fatalf("%d entries, want at most 2", c.len())
	}
	for _, s := range held {
		s.Close()
	}
	if o.openCount() != 2 {
		t.Fatalf("%d files open, want the 2 cached ones (the third closed on release)", o.openCount())
	}
	c.clear()
	if o.openCount() != 0 || c.len() != 0 {
		t.Fatal("clear left files open")
	}
}

func TestOpenCacheOpenError(t *testing.T) {
	o := &counted{dir: t.TempDir()}
	c := newOpenCache(2, time.Hour)
	if _, err := c.acquire("missing", o.open("missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v, want not exist", err)
	}
	if c.len() != 0 {
		t.Fatal("a failed open was cached")
	}
}

// TestOpenCacheConcurrent races readers, invalidations and expiries (run
// it with -race): every read sees its file's bytes, and once all readers
// are done and the cache is cleared, no file is left open.
func TestOpenCacheConcurrent(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e"}
	o := &counted{dir: writeFiles(t, names...)}
	c := newOpenCache(3, 2*time.Millisecond)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := names[(w+i)%len(names)]
				if i%7 == 0 {
					c.invalidate(n)
				}
				s, err := c.acquire(n, o.open(n))
				if err != nil {
					t.Error(err)
					return
				}
				b := make([]byte, s.Size())
				if k, err := s.ReadAt(b, 0); k != len(b) || string(b) != "content of "+n {
					t.Errorf("%s: read %q (%v)", n, b[:k], err)
				}
				s.Close()
			}
		}()
	}
	wg.Wait()
	c.clear()
	if n := o.openCount(); n != 0 {
		t.Fatalf("%d files left open", n)
	}
}

// TestFSOpenSharedRemove: removing a blob through the FS drops its cached
// file at once, so the next open sees it gone (delete, and replace, which
// removes the old blob under its own id).
func TestFSOpenSharedRemove(t *testing.T) {
	f, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := newID()
	if err := os.WriteFile(filepath.Join(f.blobs, id), []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := f.OpenShared(id)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := s.ReadAt(b, 3); err != nil || !bytes.Equal(b, []byte("3456")) {
		t.Fatalf("ReadAt: %q %v", b, err)
	}
	s.Close()
	if f.open.len() != 1 {
		t.Fatal("the blob was not cached")
	}
	if err := f.Remove(id); err != nil {
		t.Fatal(err)
	}
	if f.open.len() != 0 {
		t.Fatal("Remove left the blob's file cached")
	}
	if _, err := f.OpenShared(id); !domain.IsKind(err, domain.NotFound) {
		t.Fatalf("OpenShared after Remove: %v, want NotFound", err)
	}
	if _, _, err := f.Store().OpenShared(context.Background(), "not-an-id"); !domain.IsKind(err, domain.NotFound) {
		t.Fatalf("OpenShared of a malformed id: %v, want NotFound", err)
	}
}
