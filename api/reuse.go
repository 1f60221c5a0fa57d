package api

// The listener that takes connections back. A large download to a slow
// client leaves net/http (see detach.go): its connection is hijacked once
// the headers are out, the body is sent by a small goroutine of its own,
// and when the body is complete the connection comes back here and the
// server accepts it again, as a keep-alive connection waiting for its next
// request. While the body is sent the connection holds no bufio buffers,
// no handler stack and no background reader.

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Listener is a net.Listener that also accepts connections handed back
// after a detached download. Give its ConnContext to http.Server, and call
// Drain after http.Server.Shutdown: Shutdown does not know the detached
// downloads.
type Listener struct {
	// IdleTimeout is how long a connection waits for its next request
	// after a detached body, as http.Server's IdleTimeout (0: forever).
	// The wait happens here, since the server gives a connection it
	// accepts only ReadHeaderTimeout for its first request.
	IdleTimeout time.Duration

	inner    net.Listener
	accepted chan acceptResult
	back     chan net.Conn
	done     chan struct{}
	once     sync.Once

	mu       sync.Mutex
	detached map[net.Conn]*atomic.Bool // connections of detached bodies; true: waiting for the next request
	idle     chan struct{}             // closed when detached empties, while draining
}

type acceptResult struct {
	c   net.Conn
	err error
}

// NewListener wraps ln.
func NewListener(ln net.Listener) *Listener {
	l := &Listener{
		inner:    ln,
		accepted: make(chan acceptResult),
		back:     make(chan net.Conn),
		done:     make(chan struct{}),
		detached: make(map[net.Conn]*atomic.Bool),
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		// net/http retries the errors it takes for temporary (out of
		// descriptors) itself, after a pause, and stops serving on any
		// other; then the next send above waits for Close. A closed
		// listener is the end.
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept returns the next new or handed-back connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case r := <-l.accepted:
		return r.c, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections waiting for a next
// request, as http.Server.Shutdown closes its idle ones; detached bodies go
// on (see Drain).
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
		l.mu.Lock()
		for c, waiting := range l.detached {
			if waiting.Load() {
				c.Close()
			}
		}
		l.mu.Unlock()
	})
	return err
}

// awaitNext waits, after c's detached body, for the first byte of its next
// request, for at most IdleTimeout: true when it came (c then goes back to
// the server), false when the client hung up, the wait timed out or the
// listener closed.
func (l *Listener) awaitNext(c net.Conn, rc syscall.RawConn) bool {
	l.mu.Lock()
	waiting := l.detached[c]
	select {
	case <-l.done:
		waiting = nil
	default:
	}
	if waiting != nil {
		waiting.Store(true) // Close closes it from now on
	}
	l.mu.Unlock()
	if waiting == nil {
		return false
	}
	if l.IdleTimeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(l.IdleTimeout))
	}
	ok := waitReadable(rc)
	_ = c.SetReadDeadline(time.Time{})
	return ok
}

// Addr is the inner listener's.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// ConnContext is http.Server's ConnContext: it keeps the connection, and
// this listener, in each request's context.
func (l *Listener) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, connRef{c: c, l: l})
}

// detach notes c as sending a detached body; false once the listener is
// closed (the download then stays with net/http).
func (l *Listener) detach(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return false
	default:
	}
	l.detached[c] = new(atomic.Bool)
	return true
}

// forget undoes detach when the hijack failed.
func (l *Listener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.detached, c)
	if len(l.detached) == 0 && l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
	l.mu.Unlock()
}

// handBack ends c's detached download: with keep true the server accepts
// c again, otherwise (or once the listener is closed) c is closed.
func (l *Listener) handBack(c net.Conn, keep bool) {
	l.forget(c)
	if keep {
		select {
		case l.back <- c:
			return
		case <-l.done:
		}
	}
	c.Close()
}

// Drain waits for the detached downloads to finish, or cuts them when ctx
// ends first (the error is then ctx's).
func (l *Listener) Drain(ctx context.Context) error {
	l.mu.Lock()
	if len(l.detached) == 0 {
		l.mu.Unlock()
		return nil
	}
	if l.idle == nil {
		l.idle = make(chan struct{})
	}
	idle := l.idle
	l.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	for c := range l.detached {
		c.Close() // its sender sees the error, logs the cut and hands it back
	}
	l.mu.Unlock()
	return ctx.Err()
}
