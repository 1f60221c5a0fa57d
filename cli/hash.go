package cli

import (
	"hash"
	"sync"
)

// hashBuf is the size of the buffers bytes are hashed from.
const hashBuf = 1 << 20

// asyncHash hashes what is written to it on its own goroutine, so that
// hashing a download overlaps receiving and writing it instead of adding
// to them: Write copies p into one of a few buffers and returns at once
// unless the hash is that far behind.
type asyncHash struct {
	h    hash.Hash
	work chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
	sum  []byte
}

func newAsyncHash(h hash.Hash) *asyncHash {
	const bufs = 4
	a := &asyncHash{h: h, work: make(chan []byte, bufs), free: make(chan []byte, bufs), done: make(chan struct{})}
	for range bufs {
		a.free <- make([]byte, hashBuf)
	}
	go func() {
		defer close(a.done)
		for b := range a.work {
			a.h.Write(b)
			a.free <- b[:cap(b)]
		}
	}()
	return a
}

func (a *asyncHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-a.free
		k := copy(b, p)
		a.work <- b[:k]
		p = p[k:]
	}
	return n, nil
}

// finish waits for what was written to be hashed and returns the sum. It
// may be called more than once (and must be, at least once, to end the
// goroutine); nothing may be written after.
func (a *asyncHash) finish() []byte {
	a.once.Do(func() {
		close(a.work)
		<-a.done
		a.sum = a.h.Sum(nil)
	})
	return a.sum
}
